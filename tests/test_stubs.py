"""The committed type stubs of the C++ module list exactly what the module exports: a stub
package python/scaleq/_core/ (__init__.pyi naming the submodules, one <submodule>.pyi each)."""

import ast
import os
import types

import scaleq
from scaleq import _core

REGENERATE = (
    "regenerate with `pybind11-stubgen scaleq._core -o /tmp/stubs && rm -rf python/scaleq/_core && "
    "cp -r /tmp/stubs/scaleq/_core python/scaleq/ && ruff check --fix python/scaleq/_core && "
    "ruff format python/scaleq/_core`"
)


def _listed(path):
    with open(path) as fh:
        tree = ast.parse(fh.read())
    return next(
        ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.AnnAssign) and getattr(n.target, "id", "") == "__all__"
    )


def _exported(module):
    return sorted(n for n in dir(module) if not n.startswith("_"))


def test_core_stub_matches_the_module():
    package = os.path.dirname(scaleq.__file__)
    stubs = os.path.join(package, "_core")
    submodules = _exported(_core)
    assert submodules and all(isinstance(getattr(_core, n), types.ModuleType) for n in submodules)
    assert sorted(_listed(os.path.join(stubs, "__init__.pyi"))) == submodules, (
        f"python/scaleq/_core/ is stale: {REGENERATE}"
    )
    for name in submodules:
        path = os.path.join(stubs, name + ".pyi")
        assert os.path.exists(path), f"python/scaleq/_core/{name}.pyi is missing: {REGENERATE}"
        assert sorted(_listed(path)) == _exported(getattr(_core, name)), (
            f"python/scaleq/_core/{name}.pyi is stale: {REGENERATE}"
        )
    # stubs only: an __init__.py (or any module) there would shadow the extension at run time,
    # and a leftover single _core.pyi would be ignored by type checkers in favour of the package
    assert sorted(os.listdir(stubs)) == sorted(["__init__.pyi"] + [n + ".pyi" for n in submodules])
    assert not os.path.exists(os.path.join(package, "_core.pyi"))
    assert os.path.dirname(_core.__file__) == package and not os.path.isdir(_core.__file__)
    assert os.path.exists(os.path.join(package, "py.typed"))
