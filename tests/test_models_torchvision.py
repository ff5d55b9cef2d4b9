"""Every architecture torchvision also has is the same network: its state_dict loads strictly, same outputs.

torchvision builds its model with its own (seeded) random initialisation; the
batch-norm statistics, affine parameters and layer scales are then randomised
too, so that every entry of the state_dict changes the output. Our model is
built on the meta device (no second allocation of 130M parameters) and takes
torchvision's tensors with ``load_state_dict(strict=True, assign=True)``; both
then classify a real photo in eval mode.
"""
from __future__ import annotations

import pytest
import torch
import torchvision.models as tvm
from torchvision.transforms.v2 import functional as TF

from cnnlib.data import sample_image
from cnnlib.models import count_parameters, create_model

pytestmark = pytest.mark.xdist_group("torchvision models")  # one worker: its module fixtures are costly

# registry name, our builder's arguments, torchvision's builder and its arguments, input side: 224 px
# where a forward pass is cheap, smaller where the adaptive pooling allows it and 224 px would cost seconds
# on two cores (the layers are the same; only the map sizes shrink)
TWINS = [
    ("alexnet", {}, "alexnet", {}, 224),
    ("vgg11", {}, "vgg11", {}, 64),
    ("vgg11_bn", {}, "vgg11_bn", {}, 64),
    ("vgg13", {}, "vgg13", {}, 64),
    ("vgg13_bn", {}, "vgg13_bn", {}, 64),
    ("vgg16", {}, "vgg16", {}, 64),
    ("vgg16_bn", {}, "vgg16_bn", {}, 64),
    ("vgg19", {}, "vgg19", {}, 64),
    ("vgg19_bn", {}, "vgg19_bn", {}, 64),
    ("googlenet", {}, "googlenet", {"aux_logits": False, "init_weights": True}, 112),
    ("googlenet", {"aux_logits": True}, "googlenet", {"aux_logits": True, "init_weights": True}, 112),
    ("googlenet", {"transform_input": True}, "googlenet",
     {"aux_logits": False, "init_weights": True, "transform_input": True}, 112),
    ("resnet18", {}, "resnet18", {}, 112),
    ("resnet34", {}, "resnet34", {}, 96),
    ("resnet50", {}, "resnet50", {}, 96),
    ("resnet101", {}, "resnet101", {}, 96),
    ("resnet152", {}, "resnet152", {}, 96),
    ("resnext50_32x4d", {}, "resnext50_32x4d", {}, 96),
    ("densenet121", {}, "densenet121", {}, 96),
    ("mobilenet_v2", {}, "mobilenet_v2", {}, 224),
    ("mobilenet_v3_large", {}, "mobilenet_v3_large", {}, 224),
    ("mobilenet_v3_small", {}, "mobilenet_v3_small", {}, 224),
    ("efficientnet_b0", {}, "efficientnet_b0", {}, 224),
    ("efficientnet", {"variant": "b1"}, "efficientnet_b1", {}, 240),
    ("convnext_tiny", {}, "convnext_tiny", {}, 96),
]


def _id(twin) -> str:
    name, kwargs = twin[0], twin[1]
    return name + "".join(f"-{k}={v}" for k, v in kwargs.items())


@pytest.fixture(scope="module")
def photos() -> dict[int, torch.Tensor]:
    """Chelsea the cat, resized, centre-cropped and ImageNet-normalised, at each input side used."""
    cat = sample_image("cat", size=256)
    out = {}
    for side in {twin[-1] for twin in TWINS}:
        x = TF.center_crop(TF.resize(cat, side + 32, antialias=True), [side, side])
        out[side] = TF.normalize(x, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]).unsqueeze(0)
    return out


def _randomise_normalisation(model: torch.nn.Module) -> None:
    """Give batch-norm statistics, norm affine parameters and layer scales non-default random values."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point() or (t.ndim != 1 and not name.endswith("layer_scale")):
                continue
            if name.endswith(("running_var", "weight", "layer_scale")) and not name.endswith("fc.weight"):
                t.copy_(0.5 + torch.rand(t.shape, generator=g))
            elif name.endswith(("running_mean", "bias")):
                t.copy_(0.1 * torch.randn(t.shape, generator=g))


@pytest.mark.parametrize("twin", TWINS, ids=_id)
def test_loads_torchvision_weights_strictly_and_gives_the_same_outputs(twin, photos):
    ours_name, ours_kwargs, theirs_name, theirs_kwargs, side = twin
    torch.manual_seed(0)
    theirs = tvm.get_model(theirs_name, **theirs_kwargs).eval()
    _randomise_normalisation(theirs)
    with torch.device("meta"):
        ours = create_model(ours_name, **ours_kwargs)
    ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    ours.eval()
    assert count_parameters(ours) == count_parameters(theirs)
    with torch.no_grad():
        expected, got = theirs(photos[side]), ours(photos[side])
    assert got.shape == expected.shape == (1, 1000)
    assert expected.std() > 1e-3, "the reference output is flat: the comparison would prove nothing"
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4 * float(expected.abs().max()))


def test_the_comparison_catches_a_different_network(photos):
    # the paper's ResNet-50 has torchvision's state_dict but strides elsewhere: outputs must differ
    torch.manual_seed(0)
    theirs = tvm.resnet50().eval()
    _randomise_normalisation(theirs)
    with torch.device("meta"):
        paper = create_model("resnet50", stride_in_1x1=True)
    paper.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    paper.eval()
    with torch.no_grad():
        assert not torch.allclose(paper(photos[96]), theirs(photos[96]), rtol=1e-3, atol=1e-3)
