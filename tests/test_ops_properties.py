"""Property-based checks (hypothesis) of cnnlib.ops.conv2d against F.conv2d and of its algebra.

Complements the seeded random configurations of test_ops_conv.py: hypothesis
searches the argument space itself and shrinks any failure to a small case.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnlib.arith import conv_output_size
from cnnlib.ops import METHODS, conv2d

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@st.composite
def conv_configs(draw):
    groups = draw(st.sampled_from([1, 2, 3]))
    c_in, c_out = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    d = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    p = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    size = tuple(
        max(1, dd * (kk - 1) + 1 - 2 * pp) + draw(st.integers(0, 5)) for kk, dd, pp in zip(k, d, p)
    )
    n = draw(st.integers(1, 2))
    seed = draw(st.integers(0, 2**31 - 1))
    return dict(groups=groups, c_in=c_in, c_out=c_out, kernel=k, dilation=d, stride=s, padding=p, size=size, n=n,
                seed=seed, bias=draw(st.booleans()))


def tensors(cfg):
    gen = torch.Generator().manual_seed(cfg["seed"])
    x = torch.randn((cfg["n"], cfg["c_in"], *cfg["size"]), generator=gen, dtype=torch.float64)
    w = torch.randn((cfg["c_out"], cfg["c_in"] // cfg["groups"], *cfg["kernel"]), generator=gen, dtype=torch.float64)
    b = torch.randn(cfg["c_out"], generator=gen, dtype=torch.float64) if cfg["bias"] else None
    return x, w, b


@SETTINGS
@given(conv_configs(), st.sampled_from(list(METHODS)))
def test_matches_torch(cfg, method):
    x, w, b = tensors(cfg)
    kw = {k: cfg[k] for k in ("stride", "padding", "dilation", "groups")}
    expected = F.conv2d(x, w, b, **kw)
    got = conv2d(x, w, b, method=method, **kw)
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9)
    # and the arithmetic module predicts the shape
    assert conv_output_size(cfg["size"], cfg["kernel"], cfg["stride"], cfg["padding"], cfg["dilation"]) == tuple(
        got.shape[2:]
    )


@SETTINGS
@given(conv_configs(), st.floats(-3, 3), st.floats(-3, 3))
def test_linear_in_the_input(cfg, a, c):
    """conv(a x1 + c x2) = a conv(x1) + c conv(x2) without bias: convolution is a linear map."""
    x1, w, _ = tensors(cfg)
    x2 = torch.randn_like(x1)
    kw = {k: cfg[k] for k in ("stride", "padding", "dilation", "groups")}
    lhs = conv2d(a * x1 + c * x2, w, **kw)
    rhs = a * conv2d(x1, w, **kw) + c * conv2d(x2, w, **kw)
    torch.testing.assert_close(lhs, rhs, rtol=1e-9, atol=1e-9)


@SETTINGS
@given(st.integers(1, 3), st.integers(0, 4), st.integers(0, 4))
def test_translation_equivariance(k, dy, dx):
    """Shifting the input shifts the output (stride 1, away from the borders)."""
    gen = torch.Generator().manual_seed(k * 100 + dy * 10 + dx)
    x = torch.randn(1, 2, 16, 16, generator=gen, dtype=torch.float64)
    w = torch.randn(3, 2, k, k, generator=gen, dtype=torch.float64)
    shifted = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
    y, ys = conv2d(x, w), conv2d(shifted, w)
    h, wd = y.shape[2:]
    torch.testing.assert_close(ys[..., dy:, dx:], y[..., : h - dy, : wd - dx], rtol=1e-10, atol=1e-10)
