"""cnnlib.explain: structure, hooks, CAM vs Grad-CAM, ReLU6 guided backprop, inversion, shortcut data."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlib import explain as E
from explain_models import TinyFlattenNet, TinyGapNet, hand_images


def all_hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._backward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


@pytest.mark.parametrize("act", [nn.ReLU, nn.ReLU6])
def test_grad_cam_of_the_last_layer_is_relu_cam_over_hw(act):
    torch.manual_seed(0)
    net, x = TinyGapNet(act), torch.randn(3, 1, 6, 6) * 3
    for target in (0, 1, [1, 0, 1]):
        c = E.cam(net, x, target, layer=net.act2)
        g = E.grad_cam(net, x, target, layer=net.act2)
        h, w = c.shape[1:]
        torch.testing.assert_close(g, c.clamp(min=0) / (h * w), rtol=1e-5, atol=1e-6)


def test_cam_mean_plus_bias_is_the_logit():
    torch.manual_seed(1)
    net, x = TinyGapNet(), torch.randn(4, 1, 6, 6)
    c = E.cam(net, x, 1, layer=net.act2)
    with torch.no_grad():
        torch.testing.assert_close(c.mean(dim=(1, 2)) + net.fc.bias[1], net(x)[:, 1], rtol=1e-5, atol=1e-6)


def test_cam_refuses_a_network_without_gap_and_one_linear_layer():
    net = TinyFlattenNet()
    with pytest.raises(E.CAMNotApplicableError, match="global average"):
        E.cam(net, hand_images(), 0, layer=net.act2)
    assert all_hooks(net) == 0


def test_cam_refuses_the_wrong_layer():
    net = TinyGapNet()
    with pytest.raises(E.CAMNotApplicableError):
        E.cam(net, hand_images(), 0, layer=net.act1)


def test_hooks_removed_and_mode_restored_even_after_an_error():
    net = TinyGapNet().train()
    with pytest.raises(ValueError, match="target"):
        E.grad_cam(net, hand_images(), 5, layer=net.act2)
    assert net.training and all_hooks(net) == 0
    E.guided_backprop(net, hand_images(), 0)
    E.occlusion(net, hand_images(), 0, window=2, stride=2)
    E.activation_maps(net, hand_images(), layer=net.conv1)
    assert net.training and all_hooks(net) == 0
    assert all(p.grad is None for p in net.parameters())


def test_layer_that_is_not_in_the_model_is_refused():
    with pytest.raises(ValueError, match="not a submodule"):
        E.grad_cam(TinyGapNet(), hand_images(), 0, layer=nn.ReLU())


def test_bad_images_get_clear_errors():
    net = TinyGapNet()
    with pytest.raises(ValueError, match="unsqueeze"):
        E.saliency(net, torch.zeros(1, 6, 6), 0)
    with pytest.raises(TypeError, match="floating"):
        E.saliency(net, torch.zeros(1, 1, 6, 6, dtype=torch.long), 0)


def test_activation_maps_equal_the_layer_output():
    net, x = TinyGapNet(), hand_images()
    torch.testing.assert_close(E.activation_maps(net, x, layer=net.conv1), net.conv1(x))


def test_first_layer_filters_are_the_first_convolution_scaled_per_filter():
    net = TinyGapNet()
    f = E.first_layer_filters(net)
    assert f.shape == net.conv1.weight.shape
    assert torch.allclose(f.amin(dim=(1, 2, 3)), torch.zeros(2)) and torch.allclose(f.amax(dim=(1, 2, 3)), torch.ones(2))


def test_guided_relu6_gradient_is_positive_part_times_linear_range():
    # One ReLU6 between two linear maps: the guided gradient is computable by hand.
    torch.manual_seed(2)
    lin1, lin2 = nn.Linear(5, 7), nn.Linear(7, 3)
    net = nn.Sequential(nn.Flatten(), lin1, nn.ReLU6(inplace=True), lin2)
    x = torch.randn(2, 1, 1, 5) * 8
    pre = lin1(x.flatten(1)).detach()
    mask = ((pre > 0) & (pre < 6)).float()
    expected = ((lin2.weight[2].detach().clamp(min=0) * mask) @ lin1.weight.detach()).view(2, 1, 1, 5)
    torch.testing.assert_close(E.guided_backprop(net, x, 2), expected)


def test_occlusion_window_starts_cover_every_pixel():
    assert E.window_starts(10, 4, 3) == [0, 3, 6]
    assert E.window_starts(10, 4, 4) == [0, 4, 8]  # the last window is cut at the edge
    assert E.window_starts(8, 8, 8) == [0]
    with pytest.raises(ValueError, match="stride"):
        E.window_starts(10, 2, 3)


def test_occlusion_of_copies_with_several_targets_shares_its_forward_passes():
    torch.manual_seed(4)
    net, x = TinyGapNet(), torch.randn(2, 1, 6, 6)
    calls = []
    handle = net.register_forward_pre_hook(lambda module, inputs: calls.append(inputs[0].shape[0]))
    try:
        both = E.occlusion(net, x[[0, 0, 1]], [0, 1, 1], window=3, stride=2, batch_size=4)
        shared = sum(calls)
        calls.clear()
        apart = [E.occlusion(net, x[i:i + 1], t, window=3, stride=2) for i, t in [(0, 0), (0, 1), (1, 1)]]
    finally:
        handle.remove()
    torch.testing.assert_close(both, torch.cat(apart), rtol=1e-5, atol=1e-6)
    boxes = len(E.window_starts(6, 3, 2)) ** 2
    assert sum(calls) == 3 * (boxes + 1) and shared == 2 * (boxes + 1)


def test_feature_inversion_is_seeded_and_matches_features():
    net, x = TinyGapNet(), hand_images()
    a = E.invert_features(net, x, layer=net.act1, steps=60, lr=0.1, tv_weight=0.0, seed=3, bounds=None)
    b = E.invert_features(net, x, layer=net.act1, steps=60, lr=0.1, tv_weight=0.0, seed=3, bounds=None)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    start = E.invert_features(net, x, layer=net.act1, steps=1, lr=1e-9, tv_weight=0.0, seed=3, bounds=None)
    feats = lambda z: E.activation_maps(net, z, layer=net.act1)
    assert (feats(a) - feats(x)).norm() < 0.5 * (feats(start) - feats(x)).norm()
    assert all(p.grad is None and p.requires_grad for p in net.parameters())


def test_total_variation_is_zero_on_constant_images_and_counts_steps():
    assert E.total_variation(torch.ones(2, 3, 4, 4)).abs().max() == 0
    step = torch.zeros(1, 1, 2, 2)
    step[..., 1] = 1.0
    torch.testing.assert_close(E.total_variation(step), torch.tensor([1.0]))


def test_hookable_relu6_copy_computes_the_same_and_is_a_relu():
    torch.manual_seed(4)
    net, x = TinyGapNet(nn.ReLU6), hand_images(4.0)
    copy = E.hookable_relu6(net)
    assert isinstance(copy.act1, nn.ReLU) and isinstance(net.act1, nn.ReLU6)
    with torch.no_grad():
        torch.testing.assert_close(copy(x), net(x))


def test_upsample_matches_interpolate():
    m = torch.rand(2, 3, 3)
    torch.testing.assert_close(E.upsample(m, 9), F.interpolate(m[:, None], size=(9, 9), mode="bilinear")[:, 0])


def test_shortcut_data_marks_only_class_zero_in_training():
    from cnnlib.explain.shortcut import shortcut_data

    d = shortcut_data((3, 8), size=16, cue_size=3)
    corner = lambda x: x[:, 0, :3, :3].mean(dim=(1, 2))
    assert (corner(d.train_x[d.train_y == 0]) == 1).all() and (corner(d.train_x[d.train_y == 1]) < 1).all()
    assert torch.equal(d.test_marked_x[d.test_y == 1], d.test_x[d.test_y == 1])
    assert not torch.equal(d.test_marked_x[d.test_y == 0], d.test_x[d.test_y == 0])


# ------------------------------------------------------------------ MobileNetV2 (ReLU6) on a real photo
@pytest.fixture(scope="module")
def mobilenet_v2():
    from cnnlib.models import create_model

    return create_model("mobilenet_v2", weights="DEFAULT")


def test_mobilenet_v2_guided_backprop_differs_from_the_gradient_with_unchanged_logits(mobilenet_v2):
    from cnnlib.data.images import sample_image

    net = mobilenet_v2
    x = net.weights.transforms()(sample_image("coffee"))[None]
    with torch.no_grad():
        before = net(x)
    t = int(before.argmax())
    guided, plain = E.guided_backprop(net, x, t), E.input_gradient(net, x, t)
    assert not torch.allclose(guided, plain, atol=1e-3 * plain.abs().max())
    with E.explaining(net, guided=True), torch.no_grad():
        torch.testing.assert_close(net(x), before, rtol=0, atol=0)
    c, g = E.cam(net, x, t, layer=net.features[-1]), E.grad_cam(net, x, t, layer=net.features[-1])
    torch.testing.assert_close(g, c.clamp(min=0) / 49, rtol=1e-4, atol=1e-6 * c.abs().max())
    assert all_hooks(net) == 0
