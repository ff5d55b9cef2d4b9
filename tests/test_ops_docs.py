"""The examples in the docstrings of cnnlib.ops and cnnlib.arith run and print what they claim."""
from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    ["cnnlib.ops", "cnnlib.ops.corr", "cnnlib.ops.conv", "cnnlib.arith", "cnnlib.ops.conv_transpose",
     "cnnlib.ops.separable", "cnnlib.ops.masked", "cnnlib.ops.pool", "cnnlib.ops.pool_adaptive", "cnnlib.ops.pool_blend"],
)
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module} has no examples"
    assert result.failed == 0
