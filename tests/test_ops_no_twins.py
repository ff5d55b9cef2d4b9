"""No op in cnnlib.ops may call its torch.nn.functional twin (or the torch function behind it).

Every twin is replaced by a function that raises; each op then runs, with
a backward pass, and must still match the result computed beforehand with
the real twin.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cnnlib import ops

TWINS_F = [
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "unfold", "fold",
    "max_pool1d", "max_pool2d", "max_pool1d_with_indices", "max_pool2d_with_indices", "avg_pool1d", "avg_pool2d",
    "lp_pool1d", "lp_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
    "adaptive_max_pool2d_with_indices", "batch_norm", "layer_norm", "group_norm", "instance_norm", "relu",
    "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh", "dropout",
]
TWINS_TORCH = [
    "conv1d", "conv2d", "conv3d", "convolution", "conv_transpose1d", "conv_transpose2d", "max_pool1d", "max_pool2d",
    "max_pool1d_with_indices", "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d", "batch_norm",
    "layer_norm", "group_norm", "instance_norm", "relu", "sigmoid", "tanh", "dropout", "selu", "celu",
]
TWINS_TENSOR = ["relu", "sigmoid", "tanh", "relu_", "sigmoid_", "tanh_"]

x4 = torch.randn(2, 4, 7, 6, dtype=torch.float64)
x3 = torch.randn(2, 4, 9, dtype=torch.float64)
w4 = torch.randn(4, 2, 3, 3, dtype=torch.float64)
w3 = torch.randn(4, 3, 3, dtype=torch.float64)
c4 = torch.ones(4, dtype=torch.float64)

CALLS = {
    "conv_transpose2d": lambda x: ops.conv_transpose2d(x, w4, stride=2, groups=2),
    "conv_transpose1d": lambda x: ops.conv_transpose1d(x.flatten(2)[..., :9], w3, stride=2),
    "conv_transpose_via_gradient": lambda x: ops.conv_transpose_via_gradient(x, w4, stride=2),
    "separable_conv2d": lambda x: ops.separable_conv2d(x, w4[:, :1], torch.ones(3, 4, 1, 1, dtype=torch.float64)),
    "separable_filter2d": lambda x: ops.separable_filter2d(x, torch.ones(2, 3, dtype=x.dtype), torch.ones(2, 3, dtype=x.dtype)),
    "flattened_conv2d": lambda x: ops.flattened_conv2d(x, torch.ones(3, 4, dtype=x.dtype), torch.ones(3, 3, dtype=x.dtype),
                                                       torch.ones(3, 2, dtype=x.dtype)),
    "masked_conv2d": lambda x: ops.masked_conv2d(x, torch.ones(3, 4, 3, 3, dtype=x.dtype)),
    "max_pool2d": lambda x: ops.max_pool2d(x, 3, 2, 1, ceil_mode=True),
    "max_pool1d": lambda x: ops.max_pool1d(x.flatten(2), 3),
    "avg_pool2d": lambda x: ops.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
    "avg_pool1d": lambda x: ops.avg_pool1d(x.flatten(2), 3),
    "lp_pool2d": lambda x: ops.lp_pool2d(x, 2, 2),
    "adaptive_avg_pool2d": lambda x: ops.adaptive_avg_pool2d(x, (3, 4)),
    "adaptive_max_pool2d": lambda x: ops.adaptive_max_pool2d(x, (3, 4)),
    "global_avg_pool2d": ops.global_avg_pool2d,
    "spatial_pyramid_pool2d": ops.spatial_pyramid_pool2d,
    "mixed_pool2d": lambda x: ops.mixed_pool2d(x, 2, alpha=0.3),
    "blur_pool2d": ops.blur_pool2d,
    "max_blur_pool2d": ops.max_blur_pool2d,
    "batch_norm": lambda x: ops.batch_norm(x, c4 * 0, c4.clone(), c4, c4, training=True),
    "layer_norm": lambda x: ops.layer_norm(x, x.shape[1:]),
    "group_norm": lambda x: ops.group_norm(x, 2, c4, c4),
    "instance_norm": ops.instance_norm,
    "relu": ops.relu, "leaky_relu": ops.leaky_relu, "elu": ops.elu, "gelu": ops.gelu,
    "gelu tanh": lambda x: ops.gelu(x, approximate="tanh"), "silu": ops.silu, "sigmoid": ops.sigmoid,
    "tanh": ops.tanh,
    "dropout": lambda x: ops.dropout(x, 0.0) * ops.dropout(x, 0.5, training=False),
}


def run(call):
    x = x4.clone().requires_grad_(True)
    y = call(x)
    (g,) = torch.autograd.grad(y.sum(), x)
    return y.detach(), g


def test_every_op_runs_with_its_twins_forbidden(monkeypatch):
    expected = {name: run(call) for name, call in CALLS.items()}

    def forbidden(*args, **kwargs):
        raise AssertionError("a torch twin was called")

    for name in TWINS_F:
        if hasattr(F, name):
            monkeypatch.setattr(F, name, forbidden)
    for name in TWINS_TORCH:
        if hasattr(torch, name):
            monkeypatch.setattr(torch, name, forbidden)
    for name in TWINS_TENSOR:
        monkeypatch.setattr(torch.Tensor, name, forbidden)
    for name, call in CALLS.items():
        y, g = run(call)
        torch.testing.assert_close(y, expected[name][0], msg=name)
        torch.testing.assert_close(g, expected[name][1], msg=name)


def test_dropout_with_twin_forbidden(monkeypatch):
    monkeypatch.setattr(F, "dropout", lambda *a, **k: pytest.fail("F.dropout called"))
    monkeypatch.setattr(torch, "dropout", lambda *a, **k: pytest.fail("torch.dropout called"))
    torch.manual_seed(0)
    y = ops.dropout(torch.ones(1000), 0.5)
    assert 400 < int((y == 0).sum()) < 600
