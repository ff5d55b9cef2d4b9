"""Normalisation in cnnlib.ops against torch.nn.functional: outputs, gradients, running statistics.

Batch norm in training and evaluation on (N, C), (N, C, L), (N, C, H, W)
and (N, C, D, H, W) inputs with and without affine parameters; the
running mean and variance must be updated exactly as F.batch_norm updates
them (momentum, unbiased variance). Layer, group and instance norm on
random shapes.
"""
from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from cnnlib.ops import ConvArgumentError, batch_norm, group_norm, instance_norm, layer_norm


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def random_input(rng: random.Random, seed: int, min_spatial: int = 0):
    c = rng.randint(1, 4)
    spatial = tuple(rng.randint(1, 5) for _ in range(rng.randint(min_spatial, 3)))
    n = rng.randint(1, 4)
    if n * (1 if not spatial else torch.Size(spatial).numel()) < 2:
        n = 2
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((n, c) + spatial, generator=gen, dtype=torch.float64) * rng.uniform(0.1, 5) + rng.uniform(-3, 3)
    return x, gen


def grads_agree(ours, reference, tensors, seed):
    a = [t.clone().requires_grad_(True) for t in tensors]
    b = [t.clone().requires_grad_(True) for t in tensors]
    ya, yb = ours(*a), reference(*b)
    torch.testing.assert_close(ya, yb, rtol=1e-9, atol=1e-9)
    cot = torch.randn(yb.shape, generator=torch.Generator().manual_seed(seed), dtype=yb.dtype)
    ga = torch.autograd.grad(ya, a, cot)
    gb = torch.autograd.grad(yb, b, cot)
    for g1, g2 in zip(ga, gb):
        torch.testing.assert_close(g1, g2, rtol=1e-8, atol=1e-9)
    return len(ga)


def test_batch_norm_training_updates_running_stats_as_torch():
    for seed in range(300):
        rng = random.Random(seed)
        x, gen = random_input(rng, seed)
        c = x.shape[1]
        momentum = rng.choice([0.1, 0.01, 0.5, 1.0, 0.0])
        eps = rng.choice([1e-5, 1e-3])
        affine = rng.random() < 0.6
        w = torch.randn(c, generator=gen, dtype=torch.float64) if affine else None
        b = torch.randn(c, generator=gen, dtype=torch.float64) if affine else None
        rm = torch.randn(c, generator=gen, dtype=torch.float64)
        rv = torch.rand(c, generator=gen, dtype=torch.float64) + 0.5
        rm2, rv2 = rm.clone(), rv.clone()
        for _ in range(2):  # two steps: the update compounds
            got = batch_norm(x, rm, rv, w, b, True, momentum, eps)
            expected = F.batch_norm(x, rm2, rv2, w, b, True, momentum, eps)
            torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9)
            torch.testing.assert_close(rm, rm2, rtol=1e-12, atol=1e-12)
            torch.testing.assert_close(rv, rv2, rtol=1e-12, atol=1e-12)
        evaluated = batch_norm(x, rm, rv, w, b, False, momentum, eps)
        torch.testing.assert_close(evaluated, F.batch_norm(x, rm2, rv2, w, b, False, momentum, eps),
                                   rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(rm, rm2)  # evaluation leaves them alone


def test_batch_norm_gradients_training_and_eval():
    for seed in range(100):
        rng = random.Random(seed)
        x, gen = random_input(rng, 500 + seed)
        c = x.shape[1]
        w, b = torch.randn(c, generator=gen, dtype=torch.float64), torch.randn(c, generator=gen, dtype=torch.float64)
        rm, rv = torch.randn(c, dtype=torch.float64), torch.rand(c, dtype=torch.float64) + 0.5
        assert grads_agree(lambda x, w, b: batch_norm(x, None, None, w, b, True),
                           lambda x, w, b: F.batch_norm(x, None, None, w, b, True), (x, w, b), seed) == 3
        assert grads_agree(lambda x, w, b: batch_norm(x, rm, rv, w, b, False),
                           lambda x, w, b: F.batch_norm(x, rm, rv, w, b, False), (x, w, b), seed) == 3


def test_batch_norm_gradcheck():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 2, 2, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: batch_norm(x, None, None, w, b, True), (x, w, b))


def test_batch_norm_train_vs_eval_on_one_sample():
    """The classic bug: in training mode one sample's output depends on its batch-mates; in eval it does not."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(8, 3, 4, 4, generator=gen, dtype=torch.float64)
    rm, rv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    alone = batch_norm(x[:2], None, None, training=True)[0]
    together = batch_norm(x, None, None, training=True)[0]
    assert not torch.allclose(alone, together)
    torch.testing.assert_close(batch_norm(x[:2], rm, rv)[0], batch_norm(x, rm, rv)[0])


def test_batch_norm_running_stats_converge_to_the_data_statistics():
    gen = torch.Generator().manual_seed(2)
    rm, rv = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    for _ in range(200):
        x = torch.randn(64, 2, generator=gen, dtype=torch.float64) * torch.tensor([2.0, 0.5]) + torch.tensor([3.0, -1.0])
        batch_norm(x, rm, rv, training=True, momentum=0.1)
    torch.testing.assert_close(rm, torch.tensor([3.0, -1.0], dtype=torch.float64), rtol=0, atol=0.15)
    torch.testing.assert_close(rv, torch.tensor([4.0, 0.25], dtype=torch.float64), rtol=0.15, atol=0)


def test_layer_norm():
    for seed in range(200):
        rng = random.Random(seed)
        x, gen = random_input(rng, 1000 + seed)
        k = rng.randint(1, x.dim() - 1)
        shape = tuple(x.shape[x.dim() - k:])
        affine = rng.random() < 0.6
        w = torch.randn(shape, generator=gen, dtype=torch.float64) if affine else None
        b = torch.randn(shape, generator=gen, dtype=torch.float64) if affine else None
        norm_shape = shape[0] if k == 1 and rng.random() < 0.5 else shape
        torch.testing.assert_close(layer_norm(x, norm_shape, w, b), F.layer_norm(x, shape, w, b),
                                   rtol=1e-9, atol=1e-9)
        if seed < 60 and affine:
            grads_agree(lambda x, w, b: layer_norm(x, shape, w, b), lambda x, w, b: F.layer_norm(x, shape, w, b),
                        (x, w, b), seed)


def test_group_norm():
    for seed in range(200):
        rng = random.Random(seed)
        x, gen = random_input(rng, 2000 + seed)
        c = rng.choice([1, 2, 4, 6])
        x = torch.randn((x.shape[0], c) + x.shape[2:], generator=gen, dtype=torch.float64) * 3 + 1
        g = rng.choice([d for d in range(1, c + 1) if c % d == 0])
        if x[0, : c // g].numel() < 2:
            continue
        w, b = torch.randn(c, generator=gen, dtype=torch.float64), torch.randn(c, generator=gen, dtype=torch.float64)
        eps = rng.choice([1e-5, 1e-2])
        torch.testing.assert_close(group_norm(x, g, w, b, eps), F.group_norm(x, g, w, b, eps), rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(group_norm(x, g), F.group_norm(x, g), rtol=1e-9, atol=1e-9)
        if seed < 60:
            grads_agree(lambda x, w, b: group_norm(x, g, w, b), lambda x, w, b: F.group_norm(x, g, w, b),
                        (x, w, b), seed)


def test_group_norm_special_cases():
    """One group = layer norm over (C, H, W); C groups = instance norm."""
    x = torch.randn(3, 4, 5, 6, dtype=torch.float64)
    torch.testing.assert_close(group_norm(x, 1), layer_norm(x, x.shape[1:]))
    torch.testing.assert_close(group_norm(x, 4), instance_norm(x))


def test_instance_norm():
    for seed in range(200):
        rng = random.Random(seed)
        x, gen = random_input(rng, 3000 + seed, min_spatial=1)
        if torch.Size(x.shape[2:]).numel() < 2:
            continue
        c = x.shape[1]
        affine = rng.random() < 0.5
        w = torch.randn(c, generator=gen, dtype=torch.float64) if affine else None
        b = torch.randn(c, generator=gen, dtype=torch.float64) if affine else None
        tracked = rng.random() < 0.5
        rm = torch.randn(c, generator=gen, dtype=torch.float64) if tracked else None
        rv = torch.rand(c, generator=gen, dtype=torch.float64) + 0.5 if tracked else None
        rm2 = rm.clone() if tracked else None
        rv2 = rv.clone() if tracked else None
        momentum = rng.choice([0.1, 0.3])
        got = instance_norm(x, rm, rv, w, b, True, momentum)
        expected = F.instance_norm(x, rm2, rv2, w, b, True, momentum)
        torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9)
        if tracked:
            torch.testing.assert_close(rm, rm2, rtol=1e-12, atol=1e-12)
            torch.testing.assert_close(rv, rv2, rtol=1e-12, atol=1e-12)
            torch.testing.assert_close(instance_norm(x, rm, rv, w, b, False), F.instance_norm(x, rm2, rv2, w, b, False),
                                       rtol=1e-9, atol=1e-9)
        if seed < 50 and affine:
            grads_agree(lambda x, w, b: instance_norm(x, None, None, w, b),
                        lambda x, w, b: F.instance_norm(x, None, None, w, b), (x, w, b), seed)


def test_which_axes_each_norm_averages_over():
    """After normalising (no affine), the mean is 0 exactly over the axes the table names."""
    x = torch.randn(4, 6, 5, 3, dtype=torch.float64) * 3 + 2
    for y, dims in ((batch_norm(x, None, None, training=True), (0, 2, 3)), (layer_norm(x, x.shape[1:]), (1, 2, 3)),
                    (instance_norm(x), (2, 3))):
        assert y.mean(dim=dims).abs().max() < 1e-12
    g = group_norm(x, 3).reshape(4, 3, 2, 5, 3)
    assert g.mean(dim=(2, 3, 4)).abs().max() < 1e-12


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: batch_norm(torch.randn(1, 3), None, None, training=True), ["more than 1 value per channel"]),
        (lambda: batch_norm(torch.randn(2, 3), None, None), ["needs running_mean"]),
        (lambda: batch_norm(torch.randn(2, 3), torch.zeros(4), torch.ones(4)), ["running_mean", "(3,)"]),
        (lambda: batch_norm(torch.randn(3), None, None, training=True), ["(N, C)"]),
        (lambda: layer_norm(torch.randn(2, 3, 4), (3,)), ["normalized_shape=(3,)"]),
        (lambda: layer_norm(torch.randn(2, 3, 4), (4,), torch.ones(3)), ["weight must have shape (4,)"]),
        (lambda: group_norm(torch.randn(2, 6, 4), 4), ["num_groups=4", "C = 6"]),
        (lambda: instance_norm(torch.randn(2, 3)), ["spatial axis"]),
        (lambda: instance_norm(torch.randn(2, 3, 1)), ["more than 1 spatial element"]),
    ],
)
def test_errors_explain(call, words):
    with pytest.raises(ConvArgumentError) as info:
        call()
    for word in words:
        assert word in str(info.value), f"{word!r} not in {info.value}"


def test_gradcheck_layer_group_instance():
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(2, 4, 3, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: group_norm(x, 2, w, b), (x, w, b))
    assert torch.autograd.gradcheck(lambda x, w, b: instance_norm(x, None, None, w, b), (x, w, b))
    lw = torch.randn(3, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w: layer_norm(x, (3, 2), w), (x, lw))
