"""cnnlib.explain against captum 0.9 on hand-set networks (exact) and on MobileNetV2 (tolerance)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlib import explain as E
from explain_models import TinyGapNet, hand_images

captum_attr = pytest.importorskip("captum.attr")
pytestmark = [
    pytest.mark.filterwarnings("ignore:Setting backward hooks:UserWarning"),
    pytest.mark.xdist_group("captum"),  # one worker: its module fixtures are costly
]

EXACT = {"rtol": 1e-5, "atol": 1e-6}


@pytest.fixture(params=[nn.ReLU, nn.ReLU6], ids=["relu", "relu6"])
def tiny(request):
    # Scale 4 pushes some activations above 6, so the ReLU6 mask matters.
    return TinyGapNet(request.param), hand_images(4.0 if request.param is nn.ReLU6 else 1.0)


@pytest.mark.parametrize("target", [0, 1, [1, 0]])
def test_saliency_equals_captum(tiny, target):
    net, x = tiny
    ref = captum_attr.Saliency(net).attribute(x.clone().requires_grad_(), target=target if isinstance(target, int) else torch.tensor(target), abs=True)
    torch.testing.assert_close(E.saliency(net, x, target), ref.amax(dim=1), **EXACT)


@pytest.mark.parametrize("target", [0, 1])
def test_grad_cam_equals_captum(tiny, target):
    net, x = tiny
    ref = captum_attr.LayerGradCam(net, net.act2).attribute(x.clone().requires_grad_(), target=target,
                                                            relu_attributions=True)
    torch.testing.assert_close(E.grad_cam(net, x, target, layer=net.act2), ref[:, 0], **EXACT)


@pytest.mark.parametrize("target", [0, 1])
def test_guided_backprop_equals_captum(tiny, target):
    net, x = tiny
    ref = captum_attr.GuidedBackprop(E.hookable_relu6(net)).attribute(x.clone().requires_grad_(), target=target)
    torch.testing.assert_close(E.guided_backprop(net, x, target), ref, **EXACT)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_guided_grad_cam_equals_captum(tiny, mode):
    net, x = tiny
    copy = E.hookable_relu6(net)
    ref = captum_attr.GuidedGradCam(copy, copy.act2).attribute(x.clone().requires_grad_(), target=0,
                                                               interpolate_mode=mode)
    torch.testing.assert_close(E.guided_grad_cam(net, x, 0, layer=net.act2, interpolate_mode=mode), ref, **EXACT)


@pytest.mark.parametrize("window,stride", [(2, 1), (3, 2), (4, 4), (6, 1)])
def test_occlusion_equals_captum(tiny, window, stride):
    net, x = tiny
    ref = captum_attr.Occlusion(net).attribute(x, sliding_window_shapes=(1, window, window),
                                               strides=(1, stride, stride), baselines=0.0, target=1)
    torch.testing.assert_close(E.occlusion(net, x, 1, window=window, stride=stride, batch_size=5), ref[:, 0], **EXACT)


def test_captum_alone_misses_relu6_so_its_guided_backprop_is_the_plain_gradient():
    net, x = TinyGapNet(nn.ReLU6), hand_images(4.0)
    plain = captum_attr.GuidedBackprop(net).attribute(x.clone().requires_grad_(), target=0)
    torch.testing.assert_close(plain, E.input_gradient(net, x, 0), **EXACT)
    assert not torch.allclose(plain, E.guided_backprop(net, x, 0))


# ------------------------------------------------------------------ MobileNetV2 on a real photo
@pytest.fixture(scope="module")
def mobilenet_v2():
    from cnnlib.models import create_model

    return create_model("mobilenet_v2", weights="DEFAULT")


@pytest.fixture(scope="module")
def cat_batch(mobilenet_v2):
    """scikit-image's Chelsea the cat, preprocessed; the target is the network's top class."""
    from cnnlib.data.images import sample_image

    x = mobilenet_v2.weights.transforms()(sample_image("cat"))[None]
    with torch.no_grad():
        return x, int(mobilenet_v2(x).argmax())


def close(ours: torch.Tensor, ref: torch.Tensor, rtol: float = 1e-3) -> bool:
    """True when ``ours`` equals ``ref`` within ``rtol`` of its largest value (raises with the details otherwise)."""
    ref = ref.detach()
    scale = ref.abs().max()
    assert scale > 0
    torch.testing.assert_close(ours, ref, rtol=rtol, atol=rtol * scale)
    return True


def test_mobilenet_v2_grad_cam_saliency_equal_captum(mobilenet_v2, cat_batch):
    net, (x, t) = mobilenet_v2, cat_batch
    layer = net.features[-1]
    ref = captum_attr.LayerGradCam(net, layer).attribute(x.clone().requires_grad_(), target=t, relu_attributions=True)
    assert close(E.grad_cam(net, x, t, layer=layer), ref[:, 0])
    ref = captum_attr.Saliency(net).attribute(x.clone().requires_grad_(), target=t, abs=True)
    assert close(E.saliency(net, x, t), ref.amax(dim=1))


def test_mobilenet_v2_guided_methods_equal_captum_with_hookable_relu6(mobilenet_v2, cat_batch):
    net, (x, t) = mobilenet_v2, cat_batch
    copy = E.hookable_relu6(net)
    ref = captum_attr.GuidedBackprop(copy).attribute(x.clone().requires_grad_(), target=t)
    assert close(E.guided_backprop(net, x, t), ref)
    ref = captum_attr.GuidedGradCam(copy, copy.features[-1]).attribute(
        x.clone().requires_grad_(), target=t, interpolate_mode="bilinear")
    assert close(E.guided_grad_cam(net, x, t, layer=net.features[-1]), ref)


def test_mobilenet_v2_occlusion_equals_captum(mobilenet_v2, cat_batch):
    net, (x, t) = mobilenet_v2, cat_batch
    ref = captum_attr.Occlusion(net).attribute(x, sliding_window_shapes=(3, 56, 56), strides=(3, 56, 56),
                                               baselines=0.0, target=t, perturbations_per_eval=16)
    assert close(E.occlusion(net, x, t, window=56, stride=56), ref[:, 0])
