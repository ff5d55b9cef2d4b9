"""cnnlib.equivariance: shifts, and the error of layers that are and are not equivariant."""
import pytest
import torch

from cnnlib.equivariance import accuracy_under_shifts, equivariance_curve, equivariance_error, pad_to_canvas, shift


@pytest.fixture
def images():
    g = torch.Generator().manual_seed(0)
    blobs = torch.rand(3, 2, 12, 12, generator=g)
    return pad_to_canvas(blobs, 32)  # content away from the borders


@pytest.mark.parametrize("dy,dx", [(0, 0), (1, 0), (0, -2), (3, 5), (-4, 1)])
def test_zero_filled_shift_matches_index_formula(dy, dx):
    x = torch.arange(1, 1 + 2 * 6 * 7, dtype=torch.float32).reshape(2, 6, 7)
    out = shift(x, (dy, dx))
    for i in range(6):
        for j in range(7):
            si, sj = i - dy, j - dx
            want = x[:, si, sj] if 0 <= si < 6 and 0 <= sj < 7 else torch.zeros(2)
            assert torch.equal(out[:, i, j], want)


def test_circular_shift_is_roll_and_large_shift_empties():
    x = torch.randn(1, 1, 5, 5)
    assert torch.equal(shift(x, (2, -1), circular=True), torch.roll(x, (2, -1), (-2, -1)))
    assert torch.equal(shift(x, 5), torch.zeros_like(x))
    assert torch.equal(shift(x, (0, -7)), torch.zeros_like(x))


def test_shift_rejects_bad_arguments():
    with pytest.raises(TypeError, match="pair of ints"):
        shift(torch.zeros(4, 4), (1.5, 0))
    with pytest.raises(ValueError, match=r"\(\.\.\., H, W\)"):
        shift(torch.zeros(4), 1)


def test_pad_to_canvas_centres():
    x = torch.ones(1, 1, 2, 3)
    out = pad_to_canvas(x, (6, 7))
    assert out.shape == (1, 1, 6, 7)
    assert out.sum() == 6 and torch.equal(out[0, 0, 2:4, 2:5], torch.ones(2, 3))
    with pytest.raises(ValueError, match="smaller"):
        pad_to_canvas(x, 2)


@pytest.mark.parametrize("circular", [True, False])
@pytest.mark.parametrize("shifts", [(1, 0), (0, 3), (-2, 5)])
def test_stride_one_convolution_is_equivariant(images, shifts, circular):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(2, 4, 3, padding=1)
    assert equivariance_error(conv, images, shifts, circular=circular) < 1e-6


def test_a_position_dependent_map_is_not_equivariant(images):
    ramp = torch.linspace(0, 1, 32)  # multiplies each column by a different weight
    assert equivariance_error(lambda x: x * ramp, images, (0, 3)) > 0.1


@pytest.mark.parametrize("layer", [torch.nn.MaxPool2d(2), torch.nn.AvgPool2d(2)])
def test_pooling_is_equivariant_only_to_multiples_of_its_stride(images, layer):
    errors = equivariance_curve(layer, images, range(0, 6), stride=2)
    assert max(errors[0::2]) < 1e-6  # shifts 0, 2, 4 move the output by 0, 1, 2
    assert min(errors[1::2]) > 0.05  # odd shifts would need half-pixel moves


def test_strided_convolution_breaks_equivariance_for_odd_shifts(images):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(2, 4, 3, stride=2, padding=1)
    assert equivariance_error(conv, images, (2, 4), stride=2) < 1e-6
    assert equivariance_error(conv, images, (1, 0), stride=2) > 0.05


def test_equivariance_error_checks_its_arguments(images):
    conv = torch.nn.Conv2d(2, 1, 3)
    with pytest.raises(ValueError, match="stride"):
        equivariance_error(conv, images, 1, stride=0)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        equivariance_error(conv, images[0], 1)
    with pytest.raises(ValueError, match="axis"):
        equivariance_curve(conv, images, [1], axis="x")


def test_accuracy_under_shifts_of_an_invariant_and_a_position_bound_classifier():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 2, (20,), generator=g)
    images = torch.zeros(20, 1, 9, 9)
    images[labels == 1, :, 4, 4] = 1.0  # class 1: one bright pixel in the centre

    class Anywhere(torch.nn.Module):  # class 1 if any pixel is bright: invariant
        def forward(self, x):
            hit = x.flatten(1).amax(1)
            return torch.stack([1 - hit, hit], 1)

    anywhere = Anywhere().train()
    assert accuracy_under_shifts(anywhere, images, labels, [0, 2, (3, -3)]) == [1.0, 1.0, 1.0]
    assert anywhere.training  # the mode is restored

    def centre_only(x):  # looks at one fixed pixel: position-bound
        return (x[:, 0, 4, 4] > 0.5).long()

    accs = accuracy_under_shifts(centre_only, images, labels, [0, 1])
    assert accs[0] == 1.0
    assert accs[1] == (labels == 0).float().mean().item()
    with pytest.raises(ValueError, match="labels"):
        accuracy_under_shifts(centre_only, images, labels[:3], [0])
