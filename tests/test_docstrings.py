"""Every example in the public docstrings runs and prints what it claims."""

import doctest
import importlib

import numpy as np
import pytest

import scaleq

MODULES = ["scaleq", "scaleq.formats", "scaleq.rank_one", "scaleq.bounds", "scaleq.factorize",
           "scaleq.butterfly", "scaleq.chain_quant", "scaleq.relu", "scaleq.experiments.relu"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, extraglobs={"scaleq": scaleq, "np": np}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0, f"{name} has no examples"
    assert res.failed == 0
