"""cnnlib.arith against real PyTorch layers and against the lectures' worked numbers.

Output sizes are checked against the shapes nn.Conv*d / nn.MaxPool2d produce,
parameter counts against .numel(), multiply-adds against
torch.utils.flop_counter.FlopCounterMode (which reports 2 FLOPs per
multiply-add), receptive fields against the input pixels that really
influence one output (read off a gradient).
"""
from __future__ import annotations

import random

import pytest
import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlib.arith import (
    conv_macs,
    conv_output_size,
    conv_params,
    receptive_field,
    receptive_field_table,
)
from cnnlib.ops import ConvArgumentError


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def random_layer(seed: int):
    rng = random.Random(seed)
    groups = rng.choice([1, 1, 2, 4])
    c_in, c_out = groups * rng.randint(1, 4), groups * rng.randint(1, 4)
    k = (rng.randint(1, 5), rng.randint(1, 5))
    s = (rng.randint(1, 3), rng.randint(1, 3))
    d = (rng.randint(1, 3), rng.randint(1, 3))
    p = (rng.randint(0, 3), rng.randint(0, 3))
    size = tuple(max(1, dd * (kk - 1) + 1 - 2 * pp) + rng.randint(0, 12) for kk, dd, pp in zip(k, d, p))
    layer = nn.Conv2d(c_in, c_out, k, stride=s, padding=p, dilation=d, groups=groups, bias=rng.random() < 0.5)
    return layer, size


@pytest.mark.parametrize("seed", range(200))
def test_against_real_conv2d_layers(seed):
    layer, size = random_layer(seed)
    x = torch.randn(2, layer.in_channels, *size)
    with FlopCounterMode(display=False) as counter:
        y = layer(x)
    out = conv_output_size(size, layer.kernel_size, layer.stride, layer.padding, layer.dilation)
    assert out == tuple(y.shape[2:])
    params = conv_params(layer.in_channels, layer.out_channels, layer.kernel_size, layer.bias is not None, layer.groups)
    assert params == sum(p.numel() for p in layer.parameters())
    macs = conv_macs(layer.in_channels, layer.out_channels, layer.kernel_size, out, layer.groups)
    assert 2 * macs * x.shape[0] == counter.get_total_flops()


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize(
    ("layer", "size"),
    [
        (nn.Conv1d(3, 5, 4, stride=2, padding=1, dilation=2), (17,)),
        (nn.Conv3d(2, 4, (3, 2, 1), stride=(1, 2, 3), padding=(1, 0, 2), groups=2), (5, 6, 7)),
        (nn.Conv2d(4, 6, 4, padding="same", dilation=3), (9, 10)),
        (nn.Conv2d(4, 6, 3, padding="valid"), (9, 10)),
    ],
)
def test_other_dimensions_and_string_padding(layer, size):
    x = torch.randn(1, layer.in_channels, *size)
    with FlopCounterMode(display=False) as counter:
        y = layer(x)
    out = conv_output_size(size, layer.kernel_size, layer.stride, layer.padding, layer.dilation)
    assert out == tuple(y.shape[2:])
    assert conv_params(layer.in_channels, layer.out_channels, layer.kernel_size, True, layer.groups) == sum(
        p.numel() for p in layer.parameters()
    )
    assert 2 * conv_macs(layer.in_channels, layer.out_channels, layer.kernel_size, out, layer.groups) == (
        counter.get_total_flops()
    )


@pytest.mark.parametrize("seed", range(30))
def test_pooling_uses_the_same_formula(seed):
    rng = random.Random(seed)
    k, s, p = rng.randint(2, 4), rng.randint(1, 3), rng.randint(0, 1)
    k = max(k, 2 * p)  # MaxPool2d wants padding <= kernel_size / 2
    size = rng.randint(k, k + 10)
    y = nn.MaxPool2d(k, stride=s, padding=p)(torch.randn(1, 1, size, size))
    assert conv_output_size(size, k, s, p) == y.shape[-1]


def test_int_arguments_give_an_int_and_tuples_a_tuple():
    assert conv_output_size(7, 3) == 5
    assert conv_output_size((7, 9), 3) == (5, 7)
    assert conv_output_size(7, (3, 1)) == (5, 7)
    assert conv_output_size(10, 4, padding="same") == 10
    assert conv_output_size((10, 6), 4, padding="valid") == (7, 3)


class TestLectureNumbers:
    """Numbers the lectures state, computed."""

    def test_output_sizes(self):
        assert conv_output_size(7, 3) == 5  # 7x7 input, 3x3 filter
        assert conv_output_size(7, 3, stride=2) == 3  # ... with stride 2
        assert conv_output_size(32, 5, padding=2) == 32  # (32 + 2*2 - 5) / 1 + 1
        assert conv_output_size(227, 11, stride=4) == 55  # AlexNet conv1: 55x55x96
        for k in (1, 3, 5, 7):  # P = (K - 1) / 2 keeps the size
            assert conv_output_size(28, k, padding=(k - 1) // 2) == 28

    def test_parameters(self):
        assert conv_params(3, 10, 5) == 760  # 10 filters 5x5 on 3 channels: (5*5*3 + 1) * 10
        assert conv_params(3, 10, 3) == 280  # 10 filters 3x3x3: (27 + 1) * 10
        assert conv_params(3, 96, 11) == 34_944  # AlexNet conv1: 34,848 weights + 96 biases
        assert conv_params(96, 256, 5) == 614_656  # AlexNet conv2 as tabulated
        assert conv_params(384, 384, 3) == 1_327_488  # AlexNet conv4

    def test_multiply_adds(self):
        # 10 x 32 x 32 = 10,240 outputs, each a 3x5x5 inner product of 75 terms.
        assert conv_macs(3, 10, 5, 32) == 768_000
        layer = nn.Conv2d(3, 10, 5, padding=2)
        with FlopCounterMode(display=False) as counter:
            layer(torch.randn(1, 3, 32, 32))
        assert counter.get_total_flops() == 2 * 768_000

    def test_receptive_field_of_stacked_layers(self):
        for k in (2, 3, 5):
            for n_layers in range(1, 6):
                assert receptive_field([(k, 1)] * n_layers) == 1 + n_layers * (k - 1)

    def test_three_3x3_versus_one_7x7(self):
        assert receptive_field([(3, 1)] * 3) == receptive_field([(7, 1)]) == 7
        for c in (1, 16, 64, 256):
            three = 3 * conv_params(c, c, 3, bias=False)
            one = conv_params(c, c, 7, bias=False)
            assert (three, one) == (27 * c * c, 49 * c * c)


def measured_receptive_field(layers) -> int:
    """Width of the input region that influences the centre output, from a gradient."""
    convs = [nn.Conv1d(1, 1, k, stride=s, dilation=d, bias=False) for k, s, d in layers]
    size = 4 * receptive_field(layers) + 40
    x = torch.zeros(1, 1, size, requires_grad=True)
    y = x
    for conv in convs:
        nn.init.constant_(conv.weight, 1.0)
        y = conv(y)
    y[0, 0, y.shape[-1] // 2].backward()
    touched = torch.nonzero(x.grad[0, 0]).flatten()
    return int(touched.max() - touched.min() + 1)


@pytest.mark.parametrize("seed", range(40))
def test_receptive_field_matches_gradient(seed):
    rng = random.Random(seed)
    layers = [(rng.randint(1, 5), rng.randint(1, 3), rng.randint(1, 3)) for _ in range(rng.randint(1, 5))]
    assert receptive_field(layers) == measured_receptive_field(layers)


def test_receptive_field_table_rows():
    rows = receptive_field_table([(7, 2), (3, 2), (3, 1, 2)])  # a stem, a pool, a dilated conv
    assert [(r.layer, r.jump, r.size) for r in rows] == [(1, 2, 7), (2, 4, 11), (3, 4, 27)]
    assert receptive_field([]) == 1
    assert receptive_field([(3, 1), (3, 1)]) == receptive_field([(3, 1, 1), (3, 1, 1)])


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: conv_output_size(4, 7), ConvArgumentError, ["spans D(K - 1) + 1 = 7", "only", "more padding"]),
        (lambda: conv_output_size(5, 3, dilation=3), ConvArgumentError, ["spans D(K - 1) + 1 = 7"]),
        (lambda: conv_output_size(8, 3, stride=0), ConvArgumentError, ["stride=0", "at least 1"]),
        (lambda: conv_output_size(8, 3, padding=-1), ConvArgumentError, ["padding=-1"]),
        (lambda: conv_output_size(8, 3, stride=2, padding="same"), ConvArgumentError, ["needs stride 1"]),
        (lambda: conv_output_size(8, 3, padding="full"), ConvArgumentError, ["'same'"]),
        (lambda: conv_output_size((8, 8), (3, 3, 3)), ConvArgumentError, ["different lengths"]),
        (lambda: conv_output_size(8.0, 3), TypeError, ["size must be an int"]),
        (lambda: conv_params(4, 6, 3, groups=4), ConvArgumentError, ["groups=4 must divide", "out_channels=6"]),
        (lambda: conv_params(0, 6, 3), ConvArgumentError, ["in_channels=0"]),
        (lambda: conv_params(3, 6, "3"), TypeError, ["kernel_size"]),
        (lambda: conv_macs(3, 6, 3, (0, 4)), ConvArgumentError, ["output_size"]),
        (lambda: receptive_field([(3,)]), ConvArgumentError, ["layer 1", "(kernel_size, stride)"]),
        (lambda: receptive_field([(3, 1), (0, 1)]), ConvArgumentError, ["layer 2", ">= 1"]),
        (lambda: receptive_field("33"), TypeError, ["sequence"]),
    ],
)
def test_errors_explain(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value), f"{word!r} not in {info.value}"
