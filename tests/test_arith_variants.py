"""cnnlib.arith's formulas for transposed, grouped, depthwise separable and pooling layers, against real layers.

Output sizes against the shapes nn.ConvTranspose*d / nn.MaxPool2d /
nn.AvgPool2d produce (ceil_mode included), parameters against .numel(),
multiply-adds against torch.utils.flop_counter.FlopCounterMode (2 FLOPs
per multiply-add).
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
    conv_transpose_macs,
    conv_transpose_output_size,
    conv_transpose_params,
    pool_ops,
    pool_output_size,
    separable_conv_macs,
    separable_conv_params,
    separable_cost_ratio,
)
from cnnlib.ops import ConvArgumentError


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def flops(layer, x) -> int:
    with FlopCounterMode(display=False) as counter:
        y = layer(x)
    return counter.get_total_flops(), y


@pytest.mark.parametrize("seed", range(200))
def test_transposed_against_real_layers(seed):
    rng = random.Random(seed)
    groups = rng.choice([1, 1, 2, 3])
    c_in, c_out = groups * rng.randint(1, 3), groups * rng.randint(1, 3)
    k = (rng.randint(1, 5), rng.randint(1, 5))
    s = (rng.randint(1, 3), rng.randint(1, 3))
    d = (rng.randint(1, 3), rng.randint(1, 3))
    op = tuple(rng.randint(0, max(ss, dd) - 1) for ss, dd in zip(s, d))
    size = (rng.randint(1, 8), rng.randint(1, 8))
    p = tuple(rng.randint(0, min(3, ((n - 1) * ss + dd * (kk - 1) + o) // 2))
              for n, ss, dd, kk, o in zip(size, s, d, k, op))
    bias = rng.random() < 0.5
    layer = nn.ConvTranspose2d(c_in, c_out, k, s, p, op, groups, bias, d)
    n = rng.randint(1, 3)
    total, y = flops(layer, torch.randn(n, c_in, *size))
    assert conv_transpose_output_size(size, k, s, p, op, d) == tuple(y.shape[2:])
    assert conv_transpose_params(c_in, c_out, k, bias, groups) == sum(t.numel() for t in layer.parameters())
    assert 2 * n * conv_transpose_macs(c_in, c_out, k, size, groups) == total


def test_transposed_is_the_inverse_shape_of_convolution():
    for seed in range(300):
        rng = random.Random(seed)
        k, s, p, d = rng.randint(1, 5), rng.randint(1, 4), rng.randint(0, 3), rng.randint(1, 3)
        h = rng.randint(max(1, d * (k - 1) + 1 - 2 * p), 30)
        out = conv_output_size(h, k, s, p, d)
        op = (h + 2 * p - d * (k - 1) - 1) % s  # the output_padding that recovers h exactly
        if op < max(s, d):
            assert conv_transpose_output_size(out, k, s, p, op, d) == h


def test_lecture_transposed_examples():
    assert conv_transpose_output_size(2, 3) == 4  # 2x2 -> 4x4, stride 1
    assert conv_transpose_output_size(2, 3, stride=2) == 5  # 2x2 -> 5x5, stride 2
    assert conv_transpose_output_size(7, 4, stride=2, padding=1) == 14  # 7x7 -> 14x14
    assert conv_transpose_output_size(7, 3, stride=2, padding=1, output_padding=1) == 14


@pytest.mark.parametrize("seed", range(60))
def test_grouped_and_depthwise_counts(seed):
    rng = random.Random(seed)
    c_in = rng.choice([4, 6, 8, 12])
    groups = rng.choice([g for g in (1, 2, 3, 4, c_in) if c_in % g == 0])
    c_out = groups * rng.randint(1, 3)
    k = rng.choice([1, 3, 5])
    layer = nn.Conv2d(c_in, c_out, k, padding=k // 2, groups=groups)
    total, y = flops(layer, torch.randn(1, c_in, 9, 7))
    assert conv_params(c_in, c_out, k, True, groups) == sum(t.numel() for t in layer.parameters())
    assert 2 * conv_macs(c_in, c_out, k, tuple(y.shape[2:]), groups) == total
    # grouping divides weights and work by the number of groups
    assert conv_macs(c_in, c_out, k, 7, groups) * groups == conv_macs(c_in, c_out, k, 7)


@pytest.mark.parametrize("seed", range(60))
def test_separable_against_real_layers(seed):
    rng = random.Random(seed)
    c_in, c_out, mult = rng.randint(1, 8), rng.randint(1, 8), rng.randint(1, 2)
    k = rng.choice([1, 3, 5, (3, 5)])
    bias = rng.random() < 0.5
    padding = (k // 2) if isinstance(k, int) else (1, 2)
    layer = nn.Sequential(nn.Conv2d(c_in, c_in * mult, k, padding=padding, groups=c_in, bias=bias),
                          nn.Conv2d(c_in * mult, c_out, 1, bias=bias))
    total, y = flops(layer, torch.randn(1, c_in, 10, 8))
    assert separable_conv_params(c_in, c_out, k, bias, mult) == sum(t.numel() for t in layer.parameters())
    assert 2 * separable_conv_macs(c_in, c_out, k, tuple(y.shape[2:]), mult) == total


def test_separable_cost_ratio_lecture_numbers():
    """The lecture's K = 3, C_out = 256: 1/256 + 1/9, about 0.115, so about 8.7 times cheaper."""
    ratio = separable_cost_ratio(256, 3)
    assert abs(ratio - (1 / 256 + 1 / 9)) < 1e-15
    assert round(1 / ratio, 1) == 8.7
    for c_in in (16, 64, 256):
        macs = separable_conv_macs(c_in, 256, 3, 14) / conv_macs(c_in, 256, 3, 14)
        params = separable_conv_params(c_in, 256, 3, bias=False) / conv_params(c_in, 256, 3, bias=False)
        assert abs(macs - ratio) < 1e-12 and abs(params - ratio) < 1e-12


@pytest.mark.parametrize("seed", range(200))
def test_pool_output_size_against_real_layers(seed):
    rng = random.Random(seed)
    k = (rng.randint(1, 5), rng.randint(1, 5))
    s = rng.choice([None, (rng.randint(1, 3), rng.randint(1, 3))])
    p = tuple(rng.randint(0, kk // 2) for kk in k)
    d = (rng.randint(1, 2), rng.randint(1, 2))
    ceil = rng.random() < 0.5
    size = tuple(max(1, dd * (kk - 1) + 1 - 2 * pp) + rng.randint(0, 9) for kk, dd, pp in zip(k, d, p))
    x = torch.randn(1, 2, *size)
    y = nn.MaxPool2d(k, s, p, d, ceil_mode=ceil)(x)
    assert pool_output_size(size, k, s, p, d, ceil) == tuple(y.shape[2:])
    assert conv_output_size(size, k, s or k, p, d, ceil_mode=ceil) == tuple(y.shape[2:])
    ya = nn.AvgPool2d(k, s, p, ceil_mode=ceil)(x)
    assert pool_output_size(size, k, s, p, 1, ceil) == tuple(ya.shape[2:])


def test_pool_ops_equal_average_pooling_as_a_depthwise_convolution():
    for c, k, size in [(3, 2, 8), (16, 3, 12), (1, 5, 5)]:
        conv = nn.Conv2d(c, c, k, stride=k, groups=c, bias=False)
        total, y = flops(conv, torch.randn(1, c, size, size))
        assert 2 * pool_ops(c, k, tuple(y.shape[2:])) == total
        assert y.shape[2:] == nn.AvgPool2d(k)(torch.randn(1, c, size, size)).shape[2:]


def test_pooling_has_no_parameters_and_no_counted_flops():
    assert sum(t.numel() for t in nn.MaxPool2d(2).parameters()) == 0
    total, _ = flops(nn.MaxPool2d(2), torch.randn(1, 3, 8, 8))
    assert total == 0  # FlopCounterMode counts only multiply-adds; pool_ops counts the window reads


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: conv_transpose_output_size(4, 3, stride=2, output_padding=2), ["output_padding=2", "smaller"]),
        (lambda: conv_transpose_output_size(1, 1, padding=1), ["no output"]),
        (lambda: conv_transpose_params(4, 6, 3, groups=4), ["groups=4"]),
        (lambda: separable_conv_params(0, 6, 3), ["in_channels=0"]),
        (lambda: pool_output_size(3, 4), ["spans D(K - 1) + 1 = 4"]),
        (lambda: separable_cost_ratio(0, 3), ["out_channels=0"]),
    ],
)
def test_errors_explain(call, words):
    with pytest.raises(ConvArgumentError) as info:
        call()
    for word in words:
        assert word in str(info.value), f"{word!r} not in {info.value}"
