"""Every example in the public docstrings runs and prints what it claims."""

import doctest
import importlib

import numpy as np
import pytest

import scaleq

MODULES = [
    "scaleq",
    "scaleq.formats",
    "scaleq.rank_one",
    "scaleq.bounds",
    "scaleq.butterfly.factorize",
    "scaleq.butterfly",
    "scaleq.butterfly.quantize",
    "scaleq.nn.rescaling",
    "scaleq.experiments.relu",
    "scaleq.butterfly.interop",
    "scaleq.frames",
    "scaleq.frames",
    "scaleq.nn",
    "scaleq.nn.relu_dag",
    "scaleq.nn.path_metrics",
    "scaleq.nn.dag_quant",
    "scaleq.datasets",
    "scaleq.experiments.na2024",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, extraglobs={"scaleq": scaleq, "np": np}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0, f"{name} has no examples"
    assert res.failed == 0


def test_readme_examples():
    import os

    readme = os.path.join(os.path.dirname(__file__), "..", "README.md")
    if not os.path.exists(readme):
        pytest.skip("README.md not next to the tests")
    with open(readme) as fh:
        text = fh.read().replace("\n```", "\n\n```")  # a fence ends the expected output
    test = doctest.DocTestParser().get_doctest(text, {"np": np, "scaleq": scaleq}, "README.md", readme, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    res = runner.summarize(verbose=False)
    assert res.attempted >= 8 and res.failed == 0
