"""cnnlib.ops.conv1d/2d/3d against torch.nn.functional on random and edge-case inputs.

A seeded generator draws configurations (batch, channels, groups, kernel,
stride, padding including "same"/"valid", dilation, bias, unbatched input);
each method must match F.conv*d on every one of them in float64:
1,000 2-D configurations per method, plus 300 1-D and 200 3-D ones.
"""
from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from cnnlib.ops import METHODS, clear_workspace, conv1d, conv2d, conv3d

OURS = {1: conv1d, 2: conv2d, 3: conv3d}
REFERENCE = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CHUNK = 100  # configurations per test item, so a failure points at a small range of seeds


def random_case(seed: int, nd: int) -> tuple[dict, dict]:
    """Draw one convolution configuration; returns (tensors, keyword arguments)."""
    rng = random.Random(seed)
    groups = rng.choice([1, 1, 1, 2, 3])
    c_in = groups * rng.randint(1, 3)
    c_out = groups * rng.randint(1, 3)
    kmax = 4 if nd < 3 else 3
    kernel = [rng.randint(1, kmax) for _ in range(nd)]
    dilation = [rng.choice([1, 1, 2, 3]) for _ in range(nd)]
    stride = [rng.choice([1, 1, 2, 3]) for _ in range(nd)]
    mode = rng.choice(["int", "tuple", "valid", "same"])
    if mode == "same":
        stride = [1] * nd
        pads = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)]
        padding = "same"
    elif mode == "valid":
        pads, padding = [(0, 0)] * nd, "valid"
    elif mode == "int":
        p = rng.randint(0, 3)
        pads, padding = [(p, p)] * nd, p
    else:
        ps = [rng.randint(0, 3) for _ in range(nd)]
        pads, padding = [(p, p) for p in ps], tuple(ps)
    extra = 6 if nd < 3 else 3
    size = []
    for k, d, (lo, hi) in zip(kernel, dilation, pads):
        smallest = max(1, d * (k - 1) + 1 - lo - hi)
        size.append(rng.randint(smallest, smallest + extra))

    def maybe_int(values):
        return values[0] if len(set(values)) == 1 and rng.random() < 0.5 else tuple(values)

    batched = rng.random() > 0.15
    shape = ((rng.randint(1, 3),) if batched else ()) + (c_in, *size)
    gen = torch.Generator().manual_seed(seed)
    tensors = {
        "x": torch.randn(shape, generator=gen, dtype=torch.float64),
        "weight": torch.randn((c_out, c_in // groups, *kernel), generator=gen, dtype=torch.float64),
        "bias": torch.randn(c_out, generator=gen, dtype=torch.float64) if rng.random() < 0.5 else None,
    }
    kwargs = {"stride": maybe_int(stride), "padding": padding, "dilation": maybe_int(dilation), "groups": groups}
    return tensors, kwargs


def check_case(seed: int, nd: int, method: str) -> None:
    t, kw = random_case(seed, nd)
    expected = REFERENCE[nd](t["x"], t["weight"], t["bias"], **kw)
    got = OURS[nd](t["x"], t["weight"], t["bias"], method=method, **kw)
    where = f"seed={seed} method={method} x{tuple(t['x'].shape)} w{tuple(t['weight'].shape)} {kw}"
    assert got.shape == expected.shape, where
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9, msg=lambda m: f"{where}\n{m}")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny tensors: a second thread only adds waiting, badly so on a busy machine.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _quiet_same_padding_warning():
    # F.conv*d warns that padding="same" with an even kernel copies the input; not our concern.
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using padding='same'")
        yield


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("chunk", range(10))
def test_conv2d_random_configurations(method, chunk):
    for seed in range(chunk * CHUNK, (chunk + 1) * CHUNK):
        check_case(seed, 2, method)


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("chunk", range(3))
def test_conv1d_random_configurations(method, chunk):
    for seed in range(10_000 + chunk * CHUNK, 10_000 + (chunk + 1) * CHUNK):
        check_case(seed, 1, method)


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("chunk", range(2))
def test_conv3d_random_configurations(method, chunk):
    for seed in range(20_000 + chunk * CHUNK, 20_000 + (chunk + 1) * CHUNK):
        check_case(seed, 3, method)


def test_generator_covers_the_interesting_cases():
    """The random configurations really include groups, 'same', strides, dilation, unbatched input."""
    cases = [random_case(seed, 2) for seed in range(1000)]
    assert sum(kw["groups"] > 1 for _, kw in cases) > 200
    assert sum(kw["padding"] == "same" for _, kw in cases) > 150
    assert sum(kw["padding"] == "valid" for _, kw in cases) > 150
    assert sum(kw["stride"] not in (1, (1, 1)) for _, kw in cases) > 300
    assert sum(kw["dilation"] not in (1, (1, 1)) for _, kw in cases) > 300
    assert sum(t["x"].dim() == 3 for t, _ in cases) > 100
    assert sum(t["bias"] is not None for t, _ in cases) > 400


# Edge cases, each as (x shape, weight shape, keyword arguments).
EDGE_CASES = {
    "1x1 kernel": ((2, 5, 7, 6), (4, 5, 1, 1), {}),
    "1x1 kernel, stride 2": ((2, 5, 7, 6), (4, 5, 1, 1), {"stride": 2}),
    "kernel = input": ((3, 2, 5, 4), (6, 2, 5, 4), {}),
    "kernel = padded input": ((1, 2, 3, 3), (2, 2, 5, 5), {"padding": 1}),
    "stride > kernel": ((2, 3, 11, 10), (4, 3, 2, 2), {"stride": 4}),
    "stride > input": ((1, 1, 4, 4), (1, 1, 2, 2), {"stride": 5}),
    "depthwise (groups = channels)": ((2, 6, 8, 8), (6, 1, 3, 3), {"groups": 6, "padding": 1}),
    "depthwise, channel multiplier 2": ((2, 3, 8, 8), (6, 1, 3, 3), {"groups": 3}),
    "same, even kernel": ((2, 3, 7, 8), (4, 3, 4, 2), {"padding": "same"}),
    "same, even kernel, dilation 3": ((2, 3, 9, 10), (4, 3, 2, 4), {"padding": "same", "dilation": 3}),
    "same, odd kernel, dilation (2, 1)": ((1, 2, 9, 6), (3, 2, 3, 5), {"padding": "same", "dilation": (2, 1)}),
    "valid": ((2, 2, 6, 6), (3, 2, 3, 3), {"padding": "valid"}),
    "unbatched": ((3, 9, 8), (5, 3, 3, 3), {"padding": 1}),
    "unbatched, groups": ((4, 6, 6), (4, 2, 2, 3), {"groups": 2, "stride": (2, 1)}),
    "1-pixel input": ((2, 3, 1, 1), (4, 3, 1, 1), {}),
    "1-pixel input, padded 3x3": ((2, 3, 1, 1), (4, 3, 3, 3), {"padding": 1}),
    "wide, flat kernel": ((1, 1, 3, 20), (2, 1, 1, 9), {"stride": (1, 3), "padding": (0, 4)}),
    "large kernel 15x15": ((1, 2, 20, 20), (3, 2, 15, 15), {"padding": 7}),
    "empty batch": ((0, 3, 5, 5), (2, 3, 3, 3), {}),
}


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_conv2d_edge_cases(case, method):
    x_shape, w_shape, kw = EDGE_CASES[case]
    gen = torch.Generator().manual_seed(len(case))
    x = torch.randn(x_shape, generator=gen, dtype=torch.float64)
    w = torch.randn(w_shape, generator=gen, dtype=torch.float64)
    b = torch.randn(w_shape[0], generator=gen, dtype=torch.float64)
    expected = F.conv2d(x, w, b, **kw)
    got = conv2d(x, w, b, method=method, **kw)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("method", list(METHODS))
def test_non_contiguous_input_and_weight(method):
    """Strided views (channels-last memory, a transposed tensor) give the same result."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 9, 7, generator=gen, dtype=torch.float64).to(memory_format=torch.channels_last)
    xt = torch.randn(2, 3, 7, 9, generator=gen, dtype=torch.float64).transpose(2, 3)
    w = torch.randn(4, 3, 3, 2, generator=gen, dtype=torch.float64).transpose(0, 0)[:, :, :, :]
    w_strided = torch.randn(4, 3, 6, 2, generator=gen, dtype=torch.float64)[:, :, ::2]
    for inp in (x, xt, x[:, :, 1:, ::2]):
        for weight in (w, w_strided):
            expected = F.conv2d(inp, weight, padding=1, stride=(1, 2))
            got = conv2d(inp, weight, padding=1, stride=(1, 2), method=method)
            torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("method", list(METHODS))
def test_float32_close_to_reference(method):
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 8, 16, 16, generator=gen)
    w = torch.randn(6, 4, 5, 5, generator=gen)
    b = torch.randn(6, generator=gen)
    got = conv2d(x, w, b, padding=2, groups=2, method=method)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, F.conv2d(x, w, b, padding=2, groups=2), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("method", list(METHODS))
def test_default_method_is_im2col_and_methods_agree(method):
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(1, 2, 6, 6, generator=gen, dtype=torch.float64)
    w = torch.randn(3, 2, 3, 3, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(conv2d(x, w), conv2d(x, w, method="im2col"), rtol=0, atol=0)
    torch.testing.assert_close(conv2d(x, w, method=method), conv2d(x, w), rtol=1e-10, atol=1e-10)


def test_lecture_example_3x3_input_2x2_kernel():
    x = torch.arange(9.0).reshape(1, 1, 3, 3)
    k = torch.arange(4.0).reshape(1, 1, 2, 2)
    for method in METHODS:
        torch.testing.assert_close(conv2d(x, k, method=method), torch.tensor([[[[19.0, 25.0], [37.0, 43.0]]]]))


def test_does_not_call_torch_conv(monkeypatch):
    """No method may fall back on torch's convolution: make it raise and run them all."""

    def forbidden(*args, **kwargs):
        raise AssertionError("torch convolution called")

    x = torch.randn(2, 4, 8, 8, dtype=torch.float64)
    w = torch.randn(4, 2, 3, 3, dtype=torch.float64)
    expected = F.conv2d(x, w, padding=1, groups=2)
    for name in ("conv1d", "conv2d", "conv3d", "conv_transpose2d", "unfold"):
        monkeypatch.setattr(F, name, forbidden)
    monkeypatch.setattr(torch, "conv2d", forbidden)
    monkeypatch.setattr(torch, "convolution", forbidden)
    for method in METHODS:
        torch.testing.assert_close(conv2d(x, w, padding=1, groups=2, method=method), expected)


def test_im2col_results_do_not_share_the_reused_buffer():
    """The im2col method reuses one buffer between calls; earlier results must not change."""
    gen = torch.Generator().manual_seed(4)
    x1, w1 = torch.randn(2, 3, 10, 10, generator=gen), torch.randn(4, 3, 3, 3, generator=gen)
    x2, w2 = torch.randn(3, 5, 12, 12, generator=gen), torch.randn(2, 5, 5, 5, generator=gen)
    first = conv2d(x1, w1)
    kept = first.clone()
    second = conv2d(x2, w2, padding=2)
    conv2d(x1.double(), w1.double())  # another dtype, another buffer
    torch.testing.assert_close(first, kept, rtol=0, atol=0)
    torch.testing.assert_close(first, F.conv2d(x1, w1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(second, F.conv2d(x2, w2, padding=2), rtol=1e-5, atol=1e-5)
    clear_workspace()
    torch.testing.assert_close(conv2d(x1, w1), kept, rtol=0, atol=0)


def test_im2col_with_autograd_does_not_use_the_shared_buffer():
    x = torch.randn(1, 2, 6, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, 3, 3, dtype=torch.float64)
    y = conv2d(x, w)
    conv2d(torch.randn(1, 2, 6, 6, dtype=torch.float64), torch.randn(3, 2, 3, 3, dtype=torch.float64))
    y.sum().backward()  # the saved columns are intact
    x2 = x.detach().clone().requires_grad_(True)
    F.conv2d(x2, w).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad)
