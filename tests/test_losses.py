"""cnnlib.losses against torch.nn.functional and autograd."""
import pytest
import torch
import torch.nn.functional as F

from cnnlib import losses


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


@pytest.mark.parametrize("shape,dim", [((5, 10), -1), ((5, 10), 0), ((2, 3, 4), 1), ((7,), 0)])
def test_softmax_and_log_softmax_match_torch(gen, shape, dim):
    z = torch.randn(shape, generator=gen, dtype=torch.float64) * 5
    torch.testing.assert_close(losses.softmax(z, dim), F.softmax(z, dim))
    torch.testing.assert_close(losses.log_softmax(z, dim), F.log_softmax(z, dim))


def test_softmax_is_shift_invariant_and_stable_for_huge_logits():
    z = torch.tensor([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]])
    p = losses.softmax(z)
    assert torch.isfinite(p).all()
    torch.testing.assert_close(p[0], losses.softmax(torch.tensor([0.0, 1.0, 2.0])))
    torch.testing.assert_close(p, F.softmax(z, -1))
    logp = losses.log_softmax(z)
    assert torch.isfinite(logp).all()  # softmax(z).log() would give -inf here
    assert torch.isinf(p[1, 0].log())
    torch.testing.assert_close(logp, F.log_softmax(z, -1))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_torch_value_and_gradient(gen, reduction):
    z = torch.randn(16, 10, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 10, (16,), generator=gen)
    ours = losses.cross_entropy(z, y, reduction=reduction)
    ref = F.cross_entropy(z, y, reduction=reduction)
    torch.testing.assert_close(ours, ref)
    (g_ours,) = torch.autograd.grad(ours.sum(), z)
    (g_ref,) = torch.autograd.grad(ref.sum(), z)
    torch.testing.assert_close(g_ours, g_ref)


def test_cross_entropy_gradient_is_softmax_minus_one_hot(gen):
    z = torch.randn(8, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 5, (8,), generator=gen)
    (grad,) = torch.autograd.grad(losses.cross_entropy(z, y), z)
    expected = (F.softmax(z.detach(), -1) - F.one_hot(y, 5)) / 8
    torch.testing.assert_close(grad, expected)


def test_cross_entropy_edge_cases():
    # a perfect, confident prediction costs ~0; a confidently wrong one ~ the logit gap
    z = torch.tensor([[50.0, 0.0], [0.0, 50.0]])
    assert losses.cross_entropy(z, torch.tensor([0, 1])).item() < 1e-6
    torch.testing.assert_close(losses.cross_entropy(z, torch.tensor([1, 0])), torch.tensor(50.0))
    # uniform logits: log C
    torch.testing.assert_close(losses.cross_entropy(torch.zeros(3, 10), torch.tensor([1, 2, 3])),
                               torch.log(torch.tensor(10.0)))


@pytest.mark.parametrize(
    "logits,target,match",
    [
        (torch.zeros(3, 4), torch.tensor([0, 1, 4]), "0..3"),
        (torch.zeros(3, 4), torch.tensor([0, 1]), "shape"),
        (torch.zeros(3, 4), torch.tensor([0.0, 1.0, 2.0]), "integer"),
        (torch.zeros(3), torch.tensor([0, 1, 2]), r"\(N, C\)"),
        (torch.zeros(3, 4, dtype=torch.long), torch.tensor([0, 1, 2]), "floating"),
    ],
)
def test_cross_entropy_rejects_bad_input_with_a_clear_message(logits, target, match):
    with pytest.raises((ValueError, TypeError), match=match):
        losses.cross_entropy(logits, target)


def test_bad_reduction():
    with pytest.raises(ValueError, match="reduction"):
        losses.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), reduction="avg")


def test_sigmoid_matches_torch_including_extremes():
    z = torch.tensor([-1000.0, -100.0, -20.0, -1.0, 0.0, 1.0, 20.0, 100.0, 1000.0])
    s = losses.sigmoid(z)
    assert torch.isfinite(s).all()
    torch.testing.assert_close(s, torch.sigmoid(z))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_matches_torch(gen, reduction):
    z = torch.randn(20, generator=gen, dtype=torch.float64) * 10
    y = torch.randint(0, 2, (20,), generator=gen).double()
    y[:3] = torch.tensor([0.25, 0.5, 0.9], dtype=torch.float64)  # soft targets too
    torch.testing.assert_close(
        losses.binary_cross_entropy_with_logits(z, y, reduction=reduction),
        F.binary_cross_entropy_with_logits(z, y, reduction=reduction),
    )


def test_binary_cross_entropy_is_finite_where_the_naive_formula_is_not():
    z = torch.tensor([200.0, -200.0])
    y = torch.tensor([0.0, 1.0])
    naive = -(y * torch.sigmoid(z).log() + (1 - y) * (1 - torch.sigmoid(z)).log())
    assert torch.isinf(naive).all()
    torch.testing.assert_close(losses.binary_cross_entropy_with_logits(z, y, reduction="none"), torch.tensor([200.0, 200.0]))


def test_binary_gradient_is_sigma_minus_y_and_matches_autograd(gen):
    z = torch.randn(12, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 2, (12,), generator=gen).double()
    (auto,) = torch.autograd.grad(F.binary_cross_entropy_with_logits(z, y, reduction="sum"), z)
    torch.testing.assert_close(losses.binary_cross_entropy_grad(z.detach(), y), auto)
    torch.testing.assert_close(auto, torch.sigmoid(z.detach()) - y)


def test_binary_last_layer_weight_gradient_is_mean_of_error_times_input(gen):
    # the lecture's dL/dw_j = (1/n) sum_x x_j (sigma(z) - y), for z = x . w
    x = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 2, (6,), generator=gen).double()
    w = torch.randn(3, generator=gen, dtype=torch.float64, requires_grad=True)
    z = x @ w
    (grad_w,) = torch.autograd.grad(losses.binary_cross_entropy_with_logits(z, y), w)
    expected = (x * losses.binary_cross_entropy_grad(z.detach(), y).unsqueeze(1)).mean(0)
    torch.testing.assert_close(grad_w, expected)


def test_binary_shape_mismatch_is_explained():
    with pytest.raises(ValueError, match="must equal"):
        losses.binary_cross_entropy_with_logits(torch.zeros(3), torch.zeros(3, 1))
