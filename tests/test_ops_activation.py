"""Activations and dropout in cnnlib.ops against torch.nn.functional.

Values and gradients on random inputs of many scales, on extreme values
(where a naive formula overflows to inf or nan), at the kinks, and with
gradcheck. Dropout is random, so it is tested statistically: the fraction
of zeros, the scaling of the survivors, the mean preserved, and evaluation
being the identity.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from cnnlib.ops import ConvArgumentError, dropout, elu, gelu, leaky_relu, relu, sigmoid, silu, tanh

CASES = {
    "relu": (relu, F.relu),
    "leaky_relu": (leaky_relu, F.leaky_relu),
    "leaky_relu 0.2": (lambda x: leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2)),
    "elu": (elu, F.elu),
    "elu 0.5": (lambda x: elu(x, 0.5), lambda x: F.elu(x, 0.5)),
    "gelu": (gelu, F.gelu),
    "gelu tanh": (lambda x: gelu(x, approximate="tanh"), lambda x: F.gelu(x, approximate="tanh")),
    "silu": (silu, F.silu),
    "sigmoid": (sigmoid, torch.sigmoid),
    "tanh": (tanh, torch.tanh),
}


def inputs(seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    scales = torch.tensor([1e-8, 1e-3, 0.1, 1.0, 3.0, 10.0, 40.0, 800.0], dtype=torch.float64)
    x = torch.randn(len(scales), 50, generator=gen, dtype=torch.float64) * scales[:, None]
    extremes = torch.tensor([0.0, -0.0, 1e-300, -1e-300, 700.0, -700.0, 1e4, -1e4, 1e308, -1e308],
                            dtype=torch.float64)
    return torch.cat([x.flatten(), extremes])


@pytest.mark.parametrize("name", list(CASES))
def test_values_and_gradients(name):
    ours, reference = CASES[name]
    for seed in range(5):
        x = inputs(seed)
        a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        ya, yb = ours(a), reference(b)
        # atol at rounding level: 1 + erf(x) cancels for x << 0 in both implementations
        torch.testing.assert_close(ya, yb, rtol=1e-12, atol=1e-15)
        cot = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed), dtype=x.dtype)
        (ga,) = torch.autograd.grad(ya, a, cot)
        (gb,) = torch.autograd.grad(yb, b, cot)
        assert torch.isfinite(ga[torch.isfinite(gb)]).all(), "a gradient overflowed"
        # rtol alone would be too strict where the derivative is below rounding (e^x for x << 0);
        # the tanh GELU's gradient is NaN at |x| = 1e308 in PyTorch too (x^3 overflows)
        torch.testing.assert_close(ga, gb, rtol=1e-10, atol=1e-13, equal_nan=True)


@pytest.mark.parametrize("name", list(CASES))
def test_float32_and_shapes(name):
    ours, reference = CASES[name]
    x = torch.randn(2, 3, 4, 5) * 4
    y = ours(x)
    assert y.shape == x.shape and y.dtype == torch.float32
    torch.testing.assert_close(y, reference(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck(name):
    ours, _ = CASES[name]
    x = (torch.randn(20, dtype=torch.float64) * 3).requires_grad_(True)
    assert torch.autograd.gradcheck(ours, (x,))


def test_nan_propagates():
    x = torch.tensor([float("nan"), 1.0])
    for name, (ours, reference) in CASES.items():
        assert torch.isnan(ours(x)[0]) == torch.isnan(reference(x)[0]), name


def test_inplace():
    for fn, ref in ((relu, F.relu), (leaky_relu, F.leaky_relu), (elu, F.elu), (silu, F.silu)):
        x = torch.randn(10, dtype=torch.float64)
        expected = ref(x)
        out = fn(x, inplace=True)
        assert out is x
        torch.testing.assert_close(x, expected)


def test_derivative_formulas_in_the_table():
    x = torch.linspace(-5, 5, 101, dtype=torch.float64, requires_grad=True)
    s, t = sigmoid(x), tanh(x)
    (ds,) = torch.autograd.grad(s.sum(), x)
    (dt,) = torch.autograd.grad(t.sum(), x)
    torch.testing.assert_close(ds, (s * (1 - s)).detach())
    torch.testing.assert_close(dt, (1 - t**2).detach())
    torch.testing.assert_close(tanh(x), 2 * sigmoid(2 * x) - 1)
    normal = torch.distributions.Normal(0.0, 1.0)
    torch.testing.assert_close(gelu(x), x * normal.cdf(x))


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate='erf'"):
        gelu(torch.zeros(2), approximate="erf")


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(p):
    torch.manual_seed(0)
    n = 200_000
    x = torch.rand(n, dtype=torch.float64) + 0.5
    y = dropout(x, p)
    dropped = float((y == 0).double().mean())
    sigma = math.sqrt(p * (1 - p) / n)
    assert abs(dropped - p) < 5 * sigma  # fraction of zeros ~ p
    kept = y != 0
    torch.testing.assert_close(y[kept], x[kept] / (1 - p))  # survivors scaled by 1 / (1 - p)
    # inverted scaling keeps the mean: E[y] = x
    assert abs(float(y.mean() - x.mean())) < 5 * float(x.std()) * math.sqrt(p / (1 - p) / n) + 5e-3


def test_dropout_eval_is_identity_and_gradient_uses_the_mask():
    x = torch.randn(5, 7, requires_grad=True)
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0) is x
    torch.manual_seed(1)
    y = dropout(x, 0.25)
    y.sum().backward()
    kept = (y != 0).float()
    torch.testing.assert_close(x.grad, kept / 0.75)
    assert torch.equal(dropout(torch.ones(3, 3), 1.0), torch.zeros(3, 3))


def test_dropout_matches_torch_in_distribution():
    """Same seed, same layer statistics as F.dropout (not asserted bit-for-bit: the random streams may differ)."""
    torch.manual_seed(2)
    ours = (dropout(torch.ones(100_000), 0.3) == 0).float().mean()
    torch.manual_seed(2)
    theirs = (F.dropout(torch.ones(100_000), 0.3) == 0).float().mean()
    assert abs(float(ours - theirs)) < 0.01


def test_dropout_inplace_and_errors():
    x = torch.ones(100)
    torch.manual_seed(0)
    out = dropout(x, 0.5, inplace=True)
    assert out is x and set(x.unique().tolist()) <= {0.0, 2.0}
    for p in (-0.1, 1.5, "a"):
        with pytest.raises(ConvArgumentError, match="between 0 and 1"):
            dropout(torch.ones(3), p)
