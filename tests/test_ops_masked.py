"""masked_conv2d (PixelCNN): values against F.conv2d with the masked weight, and causality by autograd.

For every output pixel i of a small image, the gradient of that pixel's
outputs with respect to the whole input shows which input pixels it
depends on: type A must never reach pixel i or any later pixel in raster
order; type B may reach pixel i itself (within the channel rule) but no
later one; a stack (A, then B, B) stays strictly causal.
"""
from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from cnnlib.ops import ConvArgumentError, masked_conv2d, pixelcnn_mask


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def dependency(fn, x: torch.Tensor, i: int, j: int, out_channels=None) -> torch.Tensor:
    """(C_in, H, W) boolean: which input cells output pixel (i, j) depends on (summed over its channels)."""
    x = x.clone().requires_grad_(True)
    y = fn(x)
    chans = slice(None) if out_channels is None else out_channels
    (g,) = torch.autograd.grad(y[0, chans, i, j].sum(), x)
    return g[0] != 0


def raster_before(h: int, w: int, i: int, j: int, inclusive: bool) -> torch.Tensor:
    idx = torch.arange(h * w).reshape(h, w)
    return idx <= i * w + j if inclusive else idx < i * w + j


def test_mask_pictures():
    a = pixelcnn_mask(5, "A")[0, 0]
    b = pixelcnn_mask(5, "B")[0, 0]
    expected_a = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    assert torch.equal(a, expected_a.float())
    expected_b = expected_a.clone()
    expected_b[2, 2] = 1
    assert torch.equal(b, expected_b.float())
    assert pixelcnn_mask((1, 3), "A")[0, 0].tolist() == [[1.0, 0.0, 0.0]]


def test_channel_rule_at_the_centre():
    m_a = pixelcnn_mask(3, "A", in_channels=3, out_channels=6, color_groups=3)
    m_b = pixelcnn_mask(3, "B", in_channels=3, out_channels=6, color_groups=3)
    # output channels 0-1 are R, 2-3 G, 4-5 B; input channels R, G, B
    assert m_a[:, :, 1, 1].tolist() == [[0, 0, 0], [0, 0, 0], [1, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 0]]
    assert m_b[:, :, 1, 1].tolist() == [[1, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 0], [1, 1, 1], [1, 1, 1]]
    assert (m_a[:, :, 0] == 1).all() and (m_a[:, :, 2] == 0).all() and (m_a[:, :, 1, 0] == 1).all()


def test_values_match_conv_with_masked_weight():
    for seed in range(300):
        rng = random.Random(seed)
        k = (rng.choice([1, 3, 5]), rng.choice([1, 3, 5, 7]))
        d = (rng.randint(1, 2), rng.randint(1, 2))
        groups = rng.choice([1, 1, 3])
        c_in, c_out = groups * rng.randint(1, 2), groups * rng.randint(1, 3)
        mask_type = rng.choice("AB")
        gen = torch.Generator().manual_seed(seed)
        x = torch.randn(rng.randint(1, 2), c_in, rng.randint(1, 8), rng.randint(1, 8), generator=gen,
                        dtype=torch.float64)
        w = torch.randn(c_out, c_in, *k, generator=gen, dtype=torch.float64)
        b = torch.randn(c_out, generator=gen, dtype=torch.float64)
        mask = pixelcnn_mask(k, mask_type, c_in, c_out, groups).double()
        pad = tuple(dd * (kk - 1) // 2 for dd, kk in zip(d, k))
        expected = F.conv2d(x, w * mask, b, padding=pad, dilation=d)
        got = masked_conv2d(x, w, b, mask_type, d, groups)
        assert got.shape == expected.shape == x.shape[:1] + (c_out,) + x.shape[2:]
        torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("mask_type", ["A", "B"])
@pytest.mark.parametrize("kernel", [(3, 3), (5, 3), (1, 5), (7, 7)])
def test_raster_order_causality(mask_type, kernel):
    h, w = 5, 6
    gen = torch.Generator().manual_seed(sum(kernel))
    x = torch.randn(1, 2, h, w, generator=gen, dtype=torch.float64)
    weight = torch.randn(3, 2, *kernel, generator=gen, dtype=torch.float64)
    for i in range(h):
        for j in range(w):
            dep = dependency(lambda t: masked_conv2d(t, weight, mask_type=mask_type), x, i, j).any(dim=0)
            allowed = raster_before(h, w, i, j, inclusive=mask_type == "B")
            assert not (dep & ~allowed).any(), f"pixel ({i}, {j}) sees a later pixel"
            if mask_type == "A":
                assert not dep[i, j]
            else:
                assert dep[i, j]  # B sees the pixel itself
            if j > 0 and kernel[1] > 1:
                assert dep[i, j - 1]  # and the one just before it: the mask is not over-eager


def test_stack_a_then_b_stays_strictly_causal_and_grows():
    h, w = 6, 6
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(1, 1, h, w, generator=gen, dtype=torch.float64)
    ws = [torch.randn(4, 1, 3, 3, generator=gen, dtype=torch.float64)] + [
        torch.randn(4, 4, 3, 3, generator=gen, dtype=torch.float64) for _ in range(3)]

    def net(t):
        t = masked_conv2d(t, ws[0], mask_type="A")
        for wt in ws[1:]:
            t = masked_conv2d(torch.relu(t) + t, wt, mask_type="B")
        return t

    for i, j in [(0, 0), (0, 5), (2, 3), (3, 0), (5, 5)]:
        dep = dependency(net, x, i, j)[0]
        assert not (dep & ~raster_before(h, w, i, j, inclusive=False)).any()
    # four 3x3 layers: pixel (5, 3) sees rows 1..5 (the receptive field grows upwards only)
    dep = dependency(net, x, 5, 3)[0]
    assert dep[1:5].any(dim=1).all() and not dep[0].any()


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_channel_rule_by_gradient(mask_type):
    """With colour groups R, G, B, output group g at pixel i sees input groups < g (A) or <= g (B) at pixel i."""
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(1, 3, 4, 4, generator=gen, dtype=torch.float64)
    weight = torch.randn(6, 3, 3, 3, generator=gen, dtype=torch.float64)
    for g in range(3):
        dep = dependency(lambda t: masked_conv2d(t, weight, mask_type=mask_type, color_groups=3), x, 2, 2,
                         out_channels=slice(2 * g, 2 * g + 2))
        seen = dep[:, 2, 2].tolist()
        allowed = [c < g if mask_type == "A" else c <= g for c in range(3)]
        assert seen == allowed
        assert dep[:, 2, 1].all()  # the pixel before: every channel


def test_gradcheck():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 3, 4, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 3, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: masked_conv2d(x, w, b, "B", color_groups=3), (x, w, b))
    w_grad = torch.autograd.grad(masked_conv2d(x, w, b, "A").sum(), w)[0]
    assert (w_grad[:, :, 2] == 0).all() and (w_grad[:, :, 1, 1:] == 0).all()  # masked taps learn nothing


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: pixelcnn_mask(4), ["odd"]),
        (lambda: pixelcnn_mask(3, "C"), ["mask_type='C'"]),
        (lambda: pixelcnn_mask(3, "A", 4, 6, color_groups=3), ["color_groups=3", "in_channels=4"]),
        (lambda: masked_conv2d(torch.randn(1, 1, 4, 4), torch.randn(1, 1, 2, 3)), ["odd"]),
    ],
)
def test_errors_explain(call, words):
    with pytest.raises(ConvArgumentError) as info:
        call()
    for word in words:
        assert word in str(info.value)
