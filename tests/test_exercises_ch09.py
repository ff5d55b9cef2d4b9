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
