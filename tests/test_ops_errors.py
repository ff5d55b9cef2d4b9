"""Bad arguments to cnnlib.ops raise errors that say what was wrong and what to do."""
from __future__ import annotations

import pytest
import torch

from cnnlib import CnnlibError
from cnnlib.ops import ConvArgumentError, conv1d, conv2d, conv3d, convolve2d, corr2d, im2col

X = torch.randn(2, 4, 8, 8)
W = torch.randn(6, 4, 3, 3)


def test_error_class_is_a_cnnlib_error_and_a_value_error():
    assert issubclass(ConvArgumentError, CnnlibError)
    assert issubclass(ConvArgumentError, ValueError)


@pytest.mark.parametrize("method", ["loops", "im2col", "fft"])
@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda m: conv2d(X, torch.randn(6, 3, 3, 3), method=m), ["4 channels", "weight.shape[1] * groups", "3 * 1 = 3"]),
        (lambda m: conv2d(X, torch.randn(6, 2, 3, 3), groups=3, method=m), ["groups=3", "does not divide", "4 channels"]),
        (lambda m: conv2d(X, torch.randn(5, 2, 3, 3), groups=2, method=m), ["groups=2", "5 output channels"]),
        (lambda m: conv2d(X, torch.randn(6, 4, 9, 3), method=m), ["spans 9 along H", "padded input has only 8"]),
        (lambda m: conv2d(X, torch.randn(6, 4, 3, 3), dilation=(1, 4), method=m), ["dilation 4", "spans 9 along W"]),
        (lambda m: conv2d(X, W, padding=-1, method=m), ["padding=-1", "at least 0"]),
        (lambda m: conv2d(X, W, stride=0, method=m), ["stride=0", "at least 1"]),
        (lambda m: conv2d(X, W, stride=(1, 2, 3), method=m), ["stride=(1, 2, 3)", "2-D convolution"]),
        (lambda m: conv2d(X, W, padding="full", method=m), ["padding='full'", "'same'"]),
        (lambda m: conv2d(X, W, padding="same", stride=2, method=m), ["padding='same' needs stride 1"]),
        (lambda m: conv2d(X, W, groups=0, method=m), ["groups=0", "at least 1"]),
        (lambda m: conv2d(X[0, 0], W, method=m), ["(N, C_in, H, W)", "2-D tensor", "x[None]"]),
        (lambda m: conv2d(X[None], W, method=m), ["5-D tensor"]),
        (lambda m: conv2d(X, W[0], method=m), ["weight must have shape", "3-D tensor"]),
        (lambda m: conv2d(X, W, torch.randn(5), method=m), ["bias must have shape", "(6,)"]),
        (lambda m: conv2d(X, W.double(), method=m), ["dtypes differ", "torch.float64"]),
        (lambda m: conv2d(X.long(), W.long(), method=m), ["torch.int64", "floating-point", ".float()"]),
        (lambda m: conv1d(torch.randn(2, 3, 4), torch.randn(1, 3, 5), method=m), ["spans 5 along L"]),
        (lambda m: conv3d(torch.randn(3, 4, 4), torch.randn(1, 3, 2, 2, 2), method=m), ["(N, C_in, D, H, W)", "3-D tensor"]),
    ],
)
def test_bad_arguments_explain_themselves(call, words, method):
    with pytest.raises(ConvArgumentError) as info:
        call(method)
    for word in words:
        assert word in str(info.value), f"{word!r} not in: {info.value}"


def test_unknown_method():
    with pytest.raises(ConvArgumentError, match=r"method='toom-cook'.*'loops', 'im2col', 'fft'"):
        conv2d(X, W, method="toom-cook")


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"stride": 1.5}, ["stride must be an int", "float"]),
        ({"stride": True}, ["not a bool"]),
        ({"padding": (1, 1.0)}, ["only ints"]),
        ({"groups": 2.0}, ["groups must be an int"]),
    ],
)
def test_wrong_types(kwargs, words):
    with pytest.raises(TypeError) as info:
        conv2d(X, W, **kwargs)
    for word in words:
        assert word in str(info.value)


def test_non_tensor_input():
    with pytest.raises(TypeError, match="torch.as_tensor"):
        conv2d([[1.0]], W)


def test_same_padding_error_does_not_fire_for_valid_arguments():
    """The checks accept the boundary case: a kernel exactly as large as the padded input."""
    assert conv2d(X, torch.randn(6, 4, 10, 10), padding=1).shape == (2, 6, 1, 1)


def test_corr2d_errors():
    with pytest.raises(ConvArgumentError, match="one channel.*conv2d"):
        corr2d(torch.randn(1, 5, 5), torch.randn(3, 3))
    with pytest.raises(ConvArgumentError, match="larger than the input"):
        corr2d(torch.randn(3, 5), torch.randn(4, 2))
    with pytest.raises(TypeError, match="two torch.Tensors"):
        convolve2d([[1.0]], torch.randn(1, 1))


def test_im2col_errors():
    with pytest.raises(TypeError, match=r"\(N, C, \*spatial\)"):
        im2col(torch.randn(5, 5), 3)
    with pytest.raises(ConvArgumentError, match="spans 7 along H"):
        im2col(torch.randn(1, 1, 5, 9), 7)
