"""Winograd F(2x2, 3x3) against torch.nn.functional.conv2d: values, gradients, errors."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cnnlib.ops import ConvArgumentError, conv1d, conv2d
from cnnlib.ops.conv_winograd import winograd_kernel


def _random_config(seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    r = lambda lo, hi: int(torch.randint(lo, hi + 1, (1,), generator=g))  # noqa: E731
    groups = [1, 1, 2, 3][r(0, 3)]
    return dict(n=r(1, 3), c_in=groups * r(1, 3), c_out=groups * r(1, 3), h=r(1, 12), w=r(1, 12),
                padding=[0, 1, 2, "same", (1, 0), (0, 2)][r(0, 5)], groups=groups, bias=bool(r(0, 1)))


def _tensors(cfg: dict, dtype=torch.float64, seed: int = 0):
    torch.manual_seed(seed)
    x = torch.randn(cfg["n"], cfg["c_in"], cfg["h"], cfg["w"], dtype=dtype, requires_grad=True)
    w = torch.randn(cfg["c_out"], cfg["c_in"] // cfg["groups"], 3, 3, dtype=dtype, requires_grad=True)
    b = torch.randn(cfg["c_out"], dtype=dtype, requires_grad=True) if cfg["bias"] else None
    return x, w, b


def _fits(cfg: dict) -> bool:
    pad = cfg["padding"]
    if pad == "same":
        return True
    ph, pw = (pad, pad) if isinstance(pad, int) else pad
    return cfg["h"] + 2 * ph >= 3 and cfg["w"] + 2 * pw >= 3


CONFIGS = [c for c in map(_random_config, range(60)) if _fits(c)][:40]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "n{n}c{c_in}o{c_out}h{h}w{w}g{groups}p{padding}".format(**c))
def test_values_and_gradients_match_torch(cfg):
    x, w, b = _tensors(cfg)
    kw = dict(padding=cfg["padding"], groups=cfg["groups"])
    ours = conv2d(x, w, b, method="winograd", **kw)
    ref = F.conv2d(x, w, b, **kw)
    assert ours.shape == ref.shape
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-10)
    upstream = torch.randn_like(ref)
    leaves = [t for t in (x, w, b) if t is not None]
    got = torch.autograd.grad(ours, leaves, upstream)
    want = torch.autograd.grad(ref, leaves, upstream)
    for a, e in zip(got, want):
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape", [(1, 1, 3, 3), (2, 3, 4, 4), (1, 2, 5, 7), (1, 1, 3, 17), (2, 8, 28, 28)])
def test_float32_edge_sizes(shape):
    torch.manual_seed(1)
    x = torch.randn(*shape)
    w = torch.randn(5, shape[1], 3, 3)
    torch.testing.assert_close(conv2d(x, w, method="winograd"), F.conv2d(x, w), rtol=1e-4, atol=1e-4)


def test_depthwise_unbatched_and_gradcheck():
    torch.manual_seed(2)
    x = torch.randn(4, 6, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 1, 3, 3, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(conv2d(x, w, padding=1, groups=4, method="winograd"),
                               F.conv2d(x, w, padding=1, groups=4))
    assert torch.autograd.gradcheck(lambda a, k: conv2d(a, k, padding=1, groups=4, method="winograd"), (x, w))


def test_kernel_transform_is_g_g_gt():
    torch.manual_seed(3)
    g = torch.randn(2, 3, 3, 3, dtype=torch.float64)
    G = torch.tensor([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=torch.float64)
    want = torch.einsum("ai,ocij,bj->aboc", G, g, G)
    torch.testing.assert_close(winograd_kernel(g), want)


@pytest.mark.parametrize("kwargs, words", [
    (dict(weight=torch.randn(2, 1, 5, 5)), "3x3 kernel"),
    (dict(stride=2), "stride 1"),
    (dict(dilation=2), "dilation 1"),
])
def test_layers_it_does_not_cover_get_a_clear_error(kwargs, words):
    x = torch.randn(1, 1, 9, 9)
    weight = kwargs.pop("weight", torch.randn(2, 1, 3, 3))
    with pytest.raises(ConvArgumentError, match=f"{words}.*method='im2col'"):
        conv2d(x, weight, method="winograd", **kwargs)


def test_one_dimensional_convolution_is_refused():
    with pytest.raises(ConvArgumentError, match="2-D method"):
        conv1d(torch.randn(1, 1, 8), torch.randn(1, 1, 3), method="winograd")


def test_unknown_method_names_winograd():
    with pytest.raises(ConvArgumentError, match="'winograd'"):
        conv2d(torch.randn(1, 1, 4, 4), torch.randn(1, 1, 3, 3), method="winogard")
