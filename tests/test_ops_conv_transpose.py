"""cnnlib.ops.conv_transpose1d/2d against F.conv_transpose1d/2d, and the two identities behind them.

Seeded random configurations (batch, groups, kernel, stride, padding,
output_padding, dilation, bias, unbatched input) in float64: 300 2-D and
150 1-D ones for the im2col route, fewer for the FFT and loop methods and
for the gradient route. Gradients against autograd through the twin, and
gradcheck. The identities: a transposed convolution is (1) the gradient of
a convolution with respect to its input, and (2) a stride-1 convolution of
the zero-inserted, padded input with the flipped kernel; and it is the
adjoint of convolution, <conv(x), y> = <x, conv_transpose(y)>.
"""
from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from cnnlib.arith import conv_transpose_output_size
from cnnlib.ops import (
    ConvArgumentError,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose_via_gradient,
    insert_zeros,
    transpose_kernel,
)

OURS = {1: conv_transpose1d, 2: conv_transpose2d}
REFERENCE = {1: F.conv_transpose1d, 2: F.conv_transpose2d}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def random_case(seed: int, nd: int):
    """One configuration: (input, weight, bias, keyword arguments)."""
    rng = random.Random(seed)
    groups = rng.choice([1, 1, 2, 3])
    c_in, c_out = groups * rng.randint(1, 3), groups * rng.randint(1, 3)
    kernel = [rng.randint(1, 4) for _ in range(nd)]
    stride = [rng.choice([1, 1, 2, 3]) for _ in range(nd)]
    dilation = [rng.choice([1, 1, 2, 3]) for _ in range(nd)]
    out_pad = [rng.randint(0, max(s, d) - 1) for s, d in zip(stride, dilation)]
    size = [rng.randint(1, 6) for _ in range(nd)]
    padding = []
    for n, k, s, d, op in zip(size, kernel, stride, dilation, out_pad):
        most = ((n - 1) * s + d * (k - 1) + op) // 2  # keeps the output at least 1 cell
        padding.append(rng.randint(0, min(most, 3)))
    batched = rng.random() > 0.15
    gen = torch.Generator().manual_seed(seed)
    shape = ((rng.randint(1, 3),) if batched else ()) + (c_in, *size)
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    w = torch.randn((c_in, c_out // groups, *kernel), generator=gen, dtype=torch.float64)
    b = torch.randn(c_out, generator=gen, dtype=torch.float64) if rng.random() < 0.5 else None

    def maybe_int(values):
        return values[0] if len(set(values)) == 1 and rng.random() < 0.5 else tuple(values)

    kw = {"stride": maybe_int(stride), "padding": maybe_int(padding), "output_padding": tuple(out_pad),
          "groups": groups, "dilation": maybe_int(dilation)}
    return x, w, b, kw


def check(seed, nd, fn):
    x, w, b, kw = random_case(seed, nd)
    expected = REFERENCE[nd](x, w, b, **kw)
    got = fn(x, w, b, **kw)
    where = f"seed={seed} x{tuple(x.shape)} w{tuple(w.shape)} {kw}"
    assert got.shape == expected.shape, where
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9, msg=lambda m: f"{where}\n{m}")


@pytest.mark.parametrize("chunk", range(3))
def test_conv_transpose2d_random_configurations(chunk):
    for seed in range(chunk * 100, (chunk + 1) * 100):
        check(seed, 2, conv_transpose2d)


def test_conv_transpose1d_random_configurations():
    for seed in range(5000, 5150):
        check(seed, 1, conv_transpose1d)


@pytest.mark.parametrize("method", ["fft", "loops"])
def test_other_conv_methods_underneath(method):
    for seed in range(7000, 7060):
        check(seed, 2, lambda *a, **k: conv_transpose2d(*a, method=method, **k))


@pytest.mark.parametrize("nd", [1, 2])
def test_gradient_route_random_configurations(nd):
    for seed in range(9000, 9150):
        check(seed, nd, conv_transpose_via_gradient)


def test_generator_covers_the_interesting_cases():
    cases = [random_case(seed, 2)[3] for seed in range(300)]
    assert sum(kw["groups"] > 1 for kw in cases) > 80
    assert sum(any(p > 0 for p in kw["output_padding"]) for kw in cases) > 60
    assert sum(kw["stride"] not in (1, (1, 1)) for kw in cases) > 100
    assert sum(kw["dilation"] not in (1, (1, 1)) for kw in cases) > 100
    assert sum(kw["padding"] not in (0, (0, 0)) for kw in cases) > 100
    # output_padding >= stride is allowed when it is below the dilation; make sure it occurs
    assert any(op >= s for kw in cases for op, s in zip(kw["output_padding"], pair(kw["stride"])))


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def grads(fn, x, w, b, kw, seed):
    x, w, b = (t.clone().requires_grad_(True) for t in (x, w, b))
    y = fn(x, w, b, **kw)
    cot = torch.randn(y.shape, generator=torch.Generator().manual_seed(seed), dtype=y.dtype)
    (y * cot).sum().backward()
    return x.grad, w.grad, b.grad


@pytest.mark.parametrize("route", ["zeros", "gradient"])
def test_gradients_match_torch(route):
    fn = conv_transpose2d if route == "zeros" else conv_transpose_via_gradient
    for seed in range(60):
        x, w, b, kw = random_case(11_000 + seed, 2)
        b = torch.randn(w.shape[1] * kw["groups"], dtype=torch.float64)
        expected = grads(F.conv_transpose2d, x, w, b, kw, seed)
        got = grads(fn, x, w, b, kw, seed)
        for name, g, e in zip(("input", "weight", "bias"), got, expected):
            torch.testing.assert_close(g, e, rtol=1e-9, atol=1e-9, msg=lambda m: f"{name}, seed {seed}, {kw}\n{m}")


@pytest.mark.parametrize("fn", [conv_transpose2d, conv_transpose_via_gradient])
def test_gradcheck(fn):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 4, 3, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 1, 3, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, generator=gen, dtype=torch.float64, requires_grad=True)
    kw = {"stride": (2, 1), "padding": (1, 0), "output_padding": (1, 0), "groups": 2, "dilation": (1, 2)}
    assert torch.autograd.gradcheck(lambda x, w, b: fn(x, w, b, **kw), (x, w, b))
    x1 = torch.randn(2, 2, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    w1 = torch.randn(2, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w: conv_transpose1d(x, w, stride=3, padding=1), (x1, w1))


def test_gradgradcheck_of_the_gradient_route():
    """The gradient route is differentiable twice over (a transposed convolution inside training)."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(1, 2, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 1, 2, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda x, w: conv_transpose_via_gradient(x, w, stride=2), (x, w))


@pytest.mark.parametrize("seed", range(40))
def test_identity_gradient_of_convolution(seed):
    """conv_transpose2d(g, W) = d<conv2d(z, W), g>/dz, with torch's own convolution."""
    x, w, b, kw = random_case(13_000 + seed, 2)
    conv_kw = {k: kw[k] for k in ("stride", "padding", "dilation", "groups")}
    out = conv_transpose2d(x, w, **kw)
    z = torch.zeros(out.shape, dtype=torch.float64, requires_grad=True)
    y = F.conv2d(z, w, **conv_kw)
    extra = [a - c for a, c in zip(y.shape[-2:], x.shape[-2:])]  # output_padding >= stride adds cells
    g = F.pad(x, (0, extra[1], 0, extra[0]))
    (dz,) = torch.autograd.grad(y, z, grad_outputs=g)
    torch.testing.assert_close(out, dz, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seed", range(40))
def test_identity_zero_insertion_and_flipped_kernel(seed):
    """conv_transpose2d(x, W) = conv2d(pad(insert_zeros(x, S), D(K-1) - P), flip(W^T), dilation=D), with torch's conv2d."""
    x, w, b, kw = random_case(15_000 + seed, 2)
    xb = x if x.dim() == 4 else x[None]
    z = insert_zeros(xb, kw["stride"])
    k = w.shape[2:]
    d, p = pair(kw["dilation"]), pair(kw["padding"])
    op = kw["output_padding"]
    edge = [dd * (kk - 1) - pp for kk, dd, pp in zip(k, d, p)]
    z = F.pad(z, (edge[1], edge[1] + op[1], edge[0], edge[0] + op[0]))
    expected = F.conv2d(z, transpose_kernel(w, kw["groups"]), dilation=d, groups=kw["groups"])
    got = conv_transpose2d(xb, w, **kw)
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seed", range(30))
def test_adjoint_of_convolution(seed):
    """<conv2d(u, W), v> = <u, conv_transpose2d(v, W)>: the transpose of the convolution's matrix."""
    x, w, _, kw = random_case(17_000 + seed, 2)
    xb = x if x.dim() == 4 else x[None]
    u = torch.randn(conv_transpose2d(xb, w, **kw).shape, dtype=torch.float64)
    conv = F.conv2d(u, w, stride=kw["stride"], padding=kw["padding"], dilation=kw["dilation"], groups=kw["groups"])
    v = torch.randn(conv.shape, dtype=torch.float64)
    vx = v[..., : xb.shape[2], : xb.shape[3]]
    lhs = (conv[..., : xb.shape[2], : xb.shape[3]] * vx).sum()
    rhs = (u * conv_transpose2d(vx, w, **kw)).sum()
    torch.testing.assert_close(lhs, rhs, rtol=1e-9, atol=1e-9)


def test_insert_zeros():
    x = torch.arange(1.0, 7.0).reshape(1, 1, 2, 3)
    z = insert_zeros(x, (2, 3))
    assert z.shape == (1, 1, 3, 7)
    assert torch.equal(z[0, 0, ::2, ::3], x[0, 0])
    assert z.sum() == x.sum() and (z != 0).sum() == 6


EDGE_CASES = {
    "lecture 2x2 -> 4x4 (K=3, S=1)": ((1, 1, 2, 2), (1, 1, 3, 3), {}),
    "lecture 2x2 -> 5x5 (K=3, S=2)": ((1, 1, 2, 2), (1, 1, 3, 3), {"stride": 2}),
    "1-pixel input": ((2, 3, 1, 1), (3, 2, 1, 1), {}),
    "1-pixel input, big kernel": ((1, 2, 1, 1), (2, 3, 5, 4), {"stride": 3}),
    "padding crops to one cell": ((1, 1, 1, 3), (1, 1, 3, 3), {"padding": (1, 2)}),
    "7x7 -> 14x14": ((1, 2, 7, 7), (2, 3, 4, 4), {"stride": 2, "padding": 1}),
    "7x7 -> 14x14 by output_padding": ((1, 2, 7, 7), (2, 3, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    "output_padding below dilation, above stride": ((1, 2, 3, 4), (2, 2, 2, 3), {"dilation": 3, "output_padding": 2}),
    "depthwise": ((2, 4, 5, 3), (4, 1, 3, 3), {"groups": 4, "stride": 2}),
    "non-square everything": ((1, 2, 3, 5), (2, 1, 2, 4), {"stride": (3, 1), "padding": (0, 2), "dilation": (2, 1)}),
    "unbatched": ((3, 4, 4), (3, 2, 3, 3), {"stride": 2, "output_padding": 1}),
    "empty batch": ((0, 2, 3, 3), (2, 2, 3, 3), {}),
}


@pytest.mark.parametrize("case", list(EDGE_CASES))
@pytest.mark.parametrize("fn", [conv_transpose2d, conv_transpose_via_gradient])
def test_edge_cases(case, fn):
    x_shape, w_shape, kw = EDGE_CASES[case]
    gen = torch.Generator().manual_seed(len(case))
    x = torch.randn(x_shape, generator=gen, dtype=torch.float64)
    w = torch.randn(w_shape, generator=gen, dtype=torch.float64)
    b = torch.randn(w_shape[1] * kw.get("groups", 1), generator=gen, dtype=torch.float64)
    expected = F.conv_transpose2d(x, w, b, **kw)
    got = fn(x, w, b, **kw)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9)
    size = conv_transpose_output_size(tuple(x_shape[-2:]), tuple(w_shape[2:]), kw.get("stride", 1),
                                      kw.get("padding", 0), kw.get("output_padding", 0), kw.get("dilation", 1))
    assert size == tuple(expected.shape[-2:])


def test_lecture_examples_by_hand():
    """2x2 input, 3x3 kernel of ones: stride 1 gives 4x4, stride 2 gives 5x5 with the overlaps summed."""
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    ones = torch.ones(1, 1, 3, 3)
    s1 = conv_transpose2d(x, ones)
    assert s1.shape[-2:] == (4, 4)
    assert s1[0, 0, 0].tolist() == [1.0, 3.0, 3.0, 2.0]  # 1, 1+2, 1+2, 2
    assert s1[0, 0, 1, 1] == 10.0  # every input overlaps there
    s2 = conv_transpose2d(x, ones, stride=2)
    assert s2.shape[-2:] == (5, 5)
    assert s2[0, 0, 2, 2] == 10.0 and s2[0, 0, 0, 0] == 1.0 and s2[0, 0, 0, 2] == 3.0


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: conv_transpose2d(torch.randn(1, 3, 4, 4), torch.randn(2, 3, 3, 3)), ["weight.shape[0]", "C_in = 3"]),
        (lambda: conv_transpose2d(torch.randn(1, 4, 4, 4), torch.randn(4, 1, 3, 3), groups=3), ["groups=3"]),
        (lambda: conv_transpose2d(torch.randn(1, 2, 4, 4), torch.randn(2, 1, 3, 3), stride=2, output_padding=2),
         ["output_padding=2", "smaller than the stride"]),
        (lambda: conv_transpose2d(torch.randn(1, 1, 1, 1), torch.randn(1, 1, 1, 1), padding=1), ["-1 cells"]),
        (lambda: conv_transpose2d(torch.randn(1, 1, 3, 3), torch.randn(1, 1, 3, 3), padding="same"), ["'same'"]),
        (lambda: conv_transpose2d(torch.randn(1, 2, 3, 3), torch.randn(2, 3, 3, 3), torch.randn(2)), ["(3,)"]),
        (lambda: conv_transpose2d(torch.randn(1, 1, 3, 3), torch.randn(1, 1, 3, 3), method="x"), ["method='x'"]),
        (lambda: conv_transpose1d(torch.randn(1, 1, 3, 3), torch.randn(1, 1, 3, 3)), ["(N, C_in, L)"]),
    ],
)
def test_errors_explain(call, words):
    with pytest.raises(ConvArgumentError) as info:
        call()
    for word in words:
        assert word in str(info.value), f"{word!r} not in {info.value}"
