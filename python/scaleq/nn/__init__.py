"""Quantization of ReLU networks.

Rescaling invariance (module :mod:`.rescaling`): a hidden ReLU neuron computes the same
function under ``(λw, λb, v/λ)``; each neuron's quantization is an optimal rank-one problem.
    :func:`quantize_mlp`, :class:`MLPQuantResult`, :func:`quantize_neuron`,
    :class:`NeuronQuantResult`, :func:`equalize_mlp`, :func:`rescale_mlp`, :func:`mlp_forward`,
    :func:`path_lifting_error`
ReLU DAGs — convolutions, pooling, residual sums (modules :mod:`.relu_dag`,
:mod:`.path_metrics`, :mod:`.dag_quant`): the same invariance per channel, shared along
residual streams; path norms and metrics in one forward pass.
    :class:`ReLUDAG`, :class:`NeuronGroup`, :func:`rescale_dag`, :func:`quantize_dag`,
    :class:`DAGQuantResult`, :func:`path_norm`, :func:`path_error`,
    :func:`path_metric_bound`, :func:`output_error_bound`
ΣΔ networks of Na (2024) (module :mod:`.sigma_delta`): every layer's columns quantized on a frame.
    :class:`FeedForwardNet`, :class:`ResidualNet`, :func:`quantize_network`,
    :class:`NetworkQuantResult`, :func:`midrise_round`, :func:`float_round`
PyTorch (modules :mod:`.torch_model`, :mod:`.torch_bridge`; torch is optional)
    :func:`quantize_model`, :func:`dag_from_torch` (any supported model, through torch.fx),
    :func:`quantize_sequential`, :func:`sequential_to_mlp`
Butterfly layers (module :mod:`.butterfly_layer`): an n × n weight as a butterfly chain.
    :func:`butterfly_linear` (a torch module), :func:`butterfly_apply`,
    :func:`butterfly_backward`, :func:`init_factors` (numpy training)

Examples
--------
>>> import numpy as np
>>> from scaleq.nn import quantize_mlp
>>> rng = np.random.default_rng(0)
>>> Ws, bs = [rng.standard_normal((8, 4)), rng.standard_normal((2, 8))], [np.zeros(8), np.zeros(2)]
>>> q, rtn = quantize_mlp(Ws, bs, "fp8_e4m3"), quantize_mlp(Ws, bs, "fp8_e4m3", method="rtn")
>>> q.error < rtn.error
True
"""

from __future__ import annotations

from .butterfly_layer import butterfly_apply, butterfly_backward, butterfly_linear, init_factors
from .dag_quant import DAGQuantResult, quantize_dag
from .path_metrics import output_error_bound, path_error, path_metric_bound, path_norm
from .relu_dag import NeuronGroup, ReLUDAG, rescale_dag
from .rescaling import (
    MLPQuantResult,
    NeuronQuantResult,
    equalize_mlp,
    mlp_forward,
    path_lifting_error,
    quantize_mlp,
    quantize_neuron,
    rescale_mlp,
)
from .sigma_delta import (
    FeedForwardNet,
    NetworkQuantResult,
    ResidualNet,
    float_round,
    midrise_round,
    quantize_network,
)
from .torch_bridge import quantize_sequential, sequential_to_mlp
from .torch_model import dag_from_torch, quantize_model

__all__ = [
    "dag_from_torch",
    "DAGQuantResult",
    "NeuronGroup",
    "output_error_bound",
    "path_error",
    "path_metric_bound",
    "path_norm",
    "quantize_dag",
    "quantize_model",
    "ReLUDAG",
    "rescale_dag",
    "butterfly_apply",
    "butterfly_backward",
    "butterfly_linear",
    "equalize_mlp",
    "FeedForwardNet",
    "init_factors",
    "float_round",
    "midrise_round",
    "mlp_forward",
    "MLPQuantResult",
    "NeuronQuantResult",
    "path_lifting_error",
    "quantize_mlp",
    "quantize_network",
    "quantize_neuron",
    "quantize_sequential",
    "NetworkQuantResult",
    "rescale_mlp",
    "ResidualNet",
    "sequential_to_mlp",
]
