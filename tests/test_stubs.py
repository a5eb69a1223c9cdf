"""The committed type stub of the C++ module lists exactly what the module exports."""

import ast
import os

import scaleq
from scaleq import _core


def test_core_stub_matches_the_module():
    stub = os.path.join(os.path.dirname(scaleq.__file__), "_core.pyi")
    with open(stub) as fh:
        tree = ast.parse(fh.read())
    listed = next(
        ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.AnnAssign) and getattr(n.target, "id", "") == "__all__"
    )
    exported = sorted(n for n in dir(_core) if not n.startswith("_"))
    assert sorted(listed) == exported, (
        "python/scaleq/_core.pyi is stale: regenerate with "
        "`pybind11-stubgen scaleq._core -o /tmp/stubs && cp /tmp/stubs/scaleq/_core.pyi python/scaleq/`"
    )
    assert os.path.exists(os.path.join(os.path.dirname(scaleq.__file__), "py.typed"))
