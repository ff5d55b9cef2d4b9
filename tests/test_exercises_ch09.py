"""Chapter 9 exercises: reference solutions pass their own checks; the hidden cases are generated."""
from __future__ import annotations

import numpy as np
import torch

from cnnlib import explain as E
from cnnlib.grading.exercises import ch09


def test_grad_cam_solutions_agree_with_the_library():
    rng = np.random.default_rng(0)
    a, g = ch09._ag(rng, 2, 6, 4, 5)
    torch.testing.assert_close(ch09.grad_cam_map(a, g), E.grad_cam_from(a, g))
    torch.testing.assert_close(ch09.grad_cam_weights(a, g), g.mean(dim=(2, 3)))


def test_map_side_matches_mobilenet_v2():
    from cnnlib.models import create_model

    net = create_model("mobilenet_v2")
    x = torch.zeros(1, 3, 224, 224)
    strides = []
    for i, block in enumerate(net.features):
        conv = next(m for m in block.modules() if isinstance(m, torch.nn.Conv2d) and m.stride != (1, 1)) \
            if any(isinstance(m, torch.nn.Conv2d) and m.stride != (1, 1) for m in block.modules()) else None
        strides.append(conv.stride[0] if conv is not None else 1)
        side = E.activation_maps(net, x, layer=block).shape[-1]
        assert ch09.map_side(224, strides) == side, i


def test_cam_applicable_agrees_with_cam_on_real_structures():
    assert ch09.cam_applicable(["conv", "relu", "gap", "flatten", "linear"])
    assert not ch09.cam_applicable(["conv", "relu", "maxpool", "flatten", "linear", "relu", "dropout", "linear"])
    assert not ch09.cam_applicable(["linear"])


class _Counting(torch.nn.Module):
    """A tiny classifier that counts the images it has scored."""

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.head = torch.nn.Linear(3, 2)

    def forward(self, x):
        self.seen += x.shape[0]
        return self.head(x.mean(dim=(2, 3)))


def test_occlusion_passes_counts_what_occlusion_runs():
    rng = np.random.default_rng(5)
    cases = [(224, 56, 28), (224, 32, 16), (100, 30, 20), (64, 64, 8), (9, 1, 1)]
    cases += [(int(s), int(w), int(t)) for s in rng.integers(8, 60, 6)
              for w in [rng.integers(1, s + 1)] for t in [rng.integers(1, w + 1)]]
    for size, window, stride in cases:
        model = _Counting()
        E.occlusion(model, torch.rand(1, 3, size, size), 0, window=window, stride=stride, batch_size=7)
        assert ch09.occlusion_passes(size, window, stride) == model.seen, (size, window, stride)
        assert ch09.occlusion_passes(size, window, stride) == len(E.window_starts(size, window, stride)) ** 2 + 1


def _relu6_net(weight: torch.Tensor) -> torch.nn.Module:
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.act = torch.nn.ReLU6()

        def forward(self, x):
            return (self.act(x) * weight).flatten(1)

    return Net()


def test_guided_relu6_backward_matches_the_library_and_the_bug_is_the_plain_gradient():
    g = torch.Generator().manual_seed(0)
    for shape in [(1, 2, 3, 3), (2, 3, 5, 4)]:
        x = 4 * torch.randn(shape, generator=g) + 2
        weight = torch.randn(shape[1:], generator=g)   # the gradient arriving from above
        net = _relu6_net(weight)
        grads = []
        for guided in (True, False):
            xi = x.clone().requires_grad_(True)
            with E.explaining(net, guided=guided):
                net(xi).sum().backward()
            grads.append(xi.grad)
        above = weight.expand(shape)
        torch.testing.assert_close(ch09.guided_relu6_backward(x, above), grads[0])
        torch.testing.assert_close(ch09._buggy_guided_relu6_backward(x, above), grads[1])
        assert not torch.equal(grads[0], grads[1])
