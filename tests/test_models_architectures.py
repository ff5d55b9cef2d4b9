"""The architectures against the lectures' tables: shapes, parameters and multiply-adds come from the models.

Large models are built on the meta device (shapes only, nothing allocated);
the formulas for expected values come from cnnlib.arith, the targets from the
lectures and papers.
"""
from __future__ import annotations

import pytest
import torch
import torchvision.models as tvm
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlib.arith import conv_macs, conv_params
from cnnlib.models import count_macs, count_parameters, create_model, list_models, profile
from cnnlib.models.cifar_resnet import CifarBlock
from cnnlib.models.efficientnet import EFFICIENTNET_VARIANTS, compound_scaling
from cnnlib.models.googlenet import INCEPTION_TABLE, Inception, InceptionNaive
from cnnlib.models.mobilenet_v1 import MOBILENET_V1_BODY


def meta(name: str, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return create_model(name, **kwargs)


def linear_params(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def weight_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def output_shapes(model: nn.Module, kinds=(nn.Conv2d, nn.Linear)) -> list[tuple[int, ...]]:
    rows = profile(model).rows
    return [r.output_shape for r in rows if r.kind in {k.__name__ for k in kinds}]


# --- AlexNet and ZFNet -----------------------------------------------------------------------------------

def test_alexnet_2012_reproduces_the_lecture_parameter_table():
    model = meta("alexnet_2012")
    assert model.input_size == (3, 227, 227)
    expected = [conv_params(3, 96, 11), conv_params(96, 256, 5), conv_params(256, 384, 3),
                conv_params(384, 384, 3), conv_params(384, 256, 3),
                linear_params(6 * 6 * 256, 4096), linear_params(4096, 4096), linear_params(4096, 1000)]
    assert expected == [34_944, 614_656, 885_120, 1_327_488, 884_992, 37_752_832, 16_781_312, 4_097_000]
    assert [count_parameters(m) for m in weight_layers(model)] == expected
    assert count_parameters(model) == sum(expected) == 62_378_344  # the lectures' total
    assert output_shapes(model) == [(96, 55, 55), (256, 27, 27), (384, 13, 13), (384, 13, 13), (256, 13, 13),
                                    (4096,), (4096,), (1000,)]


def test_alexnet_two_gpu_groups_halve_conv2_conv4_conv5():
    one, two = meta("alexnet_2012"), meta("alexnet_2012", groups=2)
    grouped = [conv_params(96, 256, 5, groups=2), conv_params(384, 384, 3, groups=2),
               conv_params(384, 256, 3, groups=2)]
    assert [count_parameters(m) for m in weight_layers(two)][1:5] == [grouped[0], conv_params(256, 384, 3),
                                                                      grouped[1], grouped[2]]
    assert count_parameters(one) - count_parameters(two) == sum(
        conv_params(i, o, k) - g for (i, o, k), g in zip([(96, 256, 5), (384, 384, 3), (384, 256, 3)], grouped))
    assert count_parameters(two) == 60_965_224


def test_alexnet_2012_runs_on_227_pixels_and_its_fc_layers_hold_the_parameters():
    torch.manual_seed(0)
    model = create_model("alexnet_2012").eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 227, 227))
    assert out.shape == (1, 1000) and torch.isfinite(out).all()
    rows = profile(model).rows
    conv = [r for r in rows if r.kind == "Conv2d"]
    fc = [r for r in rows if r.kind == "Linear"]
    # the lectures: the convolutions do 90-95% of the computation and hold about 5% of the parameters
    conv_share = sum(r.macs for r in conv) / sum(r.macs for r in conv + fc)
    param_share = sum(r.params for r in conv) / count_parameters(model)
    assert 0.9 < conv_share < 0.96 and 0.03 < param_share < 0.07


def test_alexnet_2012_rejects_other_groups():
    with pytest.raises(ValueError, match="groups"):
        create_model("alexnet_2012", groups=3)


def test_zfnet_follows_the_lecture_changes_to_alexnet():
    model = meta("zfnet")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert (convs[0].kernel_size, convs[0].stride) == ((7, 7), (2, 2))
    assert [c.out_channels for c in convs] == [96, 256, 512, 1024, 512]
    assert [s[1] for s in output_shapes(model, (nn.Conv2d, nn.MaxPool2d))] == [110, 55, 26, 13, 13, 13, 13, 6]
    with pytest.raises(ValueError, match="five"):
        create_model("zfnet", widths=(96, 256))


# --- VGG ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("depth, millions", [(11, 133), (13, 133), (16, 138), (19, 144)])
def test_vgg_parameter_counts_match_the_lecture_table(depth, millions):
    model = meta(f"vgg{depth}")
    assert round(count_parameters(model) / 1e6) == millions
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) + 3 == depth and all(c.kernel_size == (3, 3) for c in convs)
    assert count_parameters(meta(f"vgg{depth}_bn")) - count_parameters(model) == 2 * sum(c.out_channels for c in convs)


def test_vgg_runs_on_small_inputs_thanks_to_the_adaptive_pool():
    model = meta("vgg11", num_classes=5)
    assert model(torch.zeros(1, 3, 32, 32, device="meta")).shape == (1, 5)
    assert profile(model, (3, 32, 32)).rows[-1].output_shape == (5,)


# --- GoogLeNet ---------------------------------------------------------------------------------------------

def test_inception_bottlenecks_cut_the_cost_of_module_3a():
    c1, c3r, c3, c5r, c5, pool = INCEPTION_TABLE["3a"]
    with torch.device("meta"):
        naive = InceptionNaive(192, c1, c3, c5)
        bottleneck = Inception(192, c1, c3r, c3, c5r, c5, pool, kernel_5x5=5)
    x = torch.zeros(1, 192, 28, 28, device="meta")
    assert naive(x).shape == (1, c1 + c3 + c5 + 192, 28, 28)      # the pool passes all 192 channels on
    assert bottleneck(x).shape == (1, 256, 28, 28)
    expected_naive = sum(conv_macs(192, c, k, 28) for c, k in [(c1, 1), (c3, 3), (c5, 5)])
    expected_bottleneck = (conv_macs(192, c1, 1, 28) + conv_macs(192, c3r, 1, 28) + conv_macs(c3r, c3, 3, 28)
                           + conv_macs(192, c5r, 1, 28) + conv_macs(c5r, c5, 5, 28) + conv_macs(192, pool, 1, 28))
    assert count_macs(naive, (192, 28, 28)) == expected_naive
    assert count_macs(bottleneck, (192, 28, 28)) == expected_bottleneck
    assert expected_naive > 2 * expected_bottleneck


def test_googlenet_parameters_with_and_without_the_paper_details():
    base, paper, aux = meta("googlenet"), meta("googlenet", five_by_five=True), meta("googlenet", aux_logits=True)
    assert count_parameters(base) == 6_624_904
    # 5x5 instead of 3x3 in the fourth branch: (25 - 9) more weights per filter input
    assert count_parameters(paper) - count_parameters(base) == sum(16 * c5r * c5 for _, _, _, c5r, c5, _
                                                                   in INCEPTION_TABLE.values())
    aux_one = lambda c: conv_params(c, 128, 1, bias=False) + 2 * 128 + linear_params(2048, 1024) \
        + linear_params(1024, 1000)  # noqa: E731
    assert count_parameters(aux) - count_parameters(base) == aux_one(512) + aux_one(528)
    assert output_shapes(base, (nn.AdaptiveAvgPool2d,)) == [(1024, 1, 1)]


def test_googlenet_returns_auxiliary_logits_only_when_training():
    torch.manual_seed(0)
    model = create_model("googlenet", aux_logits=True, num_classes=3)
    out = model(torch.rand(2, 3, 64, 64))
    assert [o.shape for o in out] == [(2, 3)] * 3
    model.eval()
    assert model(torch.rand(1, 3, 64, 64)).shape == (1, 3)


# --- ResNet family -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, blocks, lecture_gflops", [
    ("resnet18", (2, 2, 2, 2), 1.8), ("resnet34", (3, 4, 6, 3), 3.6), ("resnet50", (3, 4, 6, 3), 3.8),
    ("resnet101", (3, 4, 23, 3), 7.6), ("resnet152", (3, 8, 36, 3), 11.3)])
def test_resnet_table_of_the_lectures(name, blocks, lecture_gflops):
    paper = {"stride_in_1x1": True} if name not in ("resnet18", "resnet34") else {}
    model = meta(name, **paper)
    assert tuple(len(getattr(model, f"layer{i}")) for i in range(1, 5)) == blocks
    projections = sum(1 for i in range(1, 5) for b in getattr(model, f"layer{i}") if b.downsample is not None)
    weight_depth = len(weight_layers(model)) - projections
    assert weight_depth == int(name.removeprefix("resnet"))
    # "GFLOPs" in the table are billions of multiply-adds, with the paper's strides
    assert abs(count_macs(model) / 1e9 - lecture_gflops) < 0.07
    assert count_parameters(model) == count_parameters(meta(name))


@pytest.mark.parametrize("name, torchvision_gmacs", [("resnet50", 4.09), ("resnet101", 7.80), ("resnet152", 11.51)])
def test_torchvision_bottleneck_costs_more_than_the_paper(name, torchvision_gmacs):
    assert round(count_macs(meta(name)) / 1e9, 2) == torchvision_gmacs
    assert count_macs(meta(name, stride_in_1x1=True)) < count_macs(meta(name))


def test_projection_shortcuts_only_where_the_shape_changes():
    model = meta("resnet34")
    shortcuts = [(i, j) for i in range(1, 5) for j, b in enumerate(getattr(model, f"layer{i}")) if b.downsample]
    assert shortcuts == [(2, 0), (3, 0), (4, 0)]
    assert len([1 for i in range(1, 5) for b in getattr(meta("resnet50"), f"layer{i}") if b.downsample]) == 4


def test_resnext_uses_32_groups_of_width_4():
    model = meta("resnext50_32x4d")
    first = model.layer1[0].conv2
    assert (first.groups, first.in_channels) == (32, 128)
    assert abs(count_parameters(model) - count_parameters(meta("resnet50"))) < 0.03 * count_parameters(model)


# --- CIFAR ResNets and plain twins ---------------------------------------------------------------------------

@pytest.mark.parametrize("depth, millions", [(20, 0.27), (32, 0.46), (56, 0.85)])
def test_cifar_resnets_and_their_plain_twins(depth, millions):
    torch.manual_seed(0)
    resnet, plain = create_model(f"cifar_resnet{depth}"), create_model(f"cifar_plain{depth}")
    assert count_parameters(resnet) == count_parameters(plain)
    assert round(count_parameters(resnet) / 1e6, 2) == millions
    assert len(weight_layers(resnet)) == depth
    plain.load_state_dict(resnet.state_dict(), strict=True)
    x = torch.rand(2, 3, 32, 32)
    resnet.eval(), plain.eval()
    assert not torch.allclose(resnet(x), plain(x))   # same weights, only the shortcuts differ


def test_cifar_option_a_shortcut_subsamples_and_pads_with_zeros():
    torch.manual_seed(0)
    block = CifarBlock(16, 32, stride=2, shortcut="A").eval()
    nn.init.zeros_(block.bn2.weight)   # the residual branch now outputs only bn2's bias (zero)
    x = torch.rand(2, 16, 8, 8)
    expected = torch.cat([x[:, :, ::2, ::2], torch.zeros(2, 16, 4, 4)], 1)
    torch.testing.assert_close(block(x), expected)
    plain = CifarBlock(16, 32, stride=2, shortcut=None).eval()
    nn.init.zeros_(plain.bn2.weight)
    assert torch.count_nonzero(plain(x)) == 0
    assert count_parameters(CifarBlock(16, 32, 2, shortcut="B")) > count_parameters(block)


def test_cifar_models_take_fashion_mnist_shapes():
    model = create_model("cifar_plain20", in_channels=1, input_size=28)
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="shortcut"):
        create_model("cifar_resnet20", shortcut="C")


# --- DenseNet, MobileNets, EfficientNet, ConvNeXt -----------------------------------------------------------------

def test_densenet_blocks_grow_by_the_growth_rate_and_transitions_halve():
    model = meta("densenet121")
    x = torch.zeros(1, 3, 224, 224, device="meta")
    widths = []
    for name, layer in model.features.named_children():
        x = layer(x)
        if name.startswith(("denseblock", "transition")):
            widths.append(x.shape[1])
    assert widths == [64 + 6 * 32, 128, 128 + 12 * 32, 256, 256 + 24 * 32, 512, 512 + 16 * 32]
    assert count_parameters(meta("densenet121", growth_rate=12)) < count_parameters(model)


def test_mobilenet_v1_reproduces_the_lecture_body_table():
    model = meta("mobilenet_v1")
    layers = list(model.features)
    shapes = output_shapes(model, (nn.Conv2d,))
    # conv / s2, then per separable layer: depthwise (same channels), pointwise (the table's 1x1 filters)
    assert shapes[0] == (32, 112, 112)
    side = 112
    for (out, stride), dw, pw in zip(MOBILENET_V1_BODY, shapes[1::2], shapes[2::2]):
        side //= stride
        assert dw[1:] == (side, side) and pw == (out, side, side)
    assert layers[1].depthwise[0].groups == 32 and shapes[-1] == (1024, 7, 7)
    assert round(count_parameters(model) / 1e6, 1) == 4.2 and round(count_macs(model) / 1e6) == 569


def test_depthwise_separable_saves_parameters():
    sep = create_model("mobilenet_v1").features[7]        # 512 -> 512 at 14 x 14
    dense = conv_params(512, 512, 3, bias=False)
    assert count_parameters(sep) - 4 * 512 == conv_params(512, 512, 3, groups=512, bias=False) + 512 * 512
    assert dense / (count_parameters(sep) - 4 * 512) > 8


@pytest.mark.parametrize("name", ["mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "efficientnet_b0"])
def test_small_networks_cost_what_their_papers_say(name):
    paper_mmacs = {"mobilenet_v2": 300, "mobilenet_v3_large": 219, "mobilenet_v3_small": 56,
                   "efficientnet_b0": 390}[name]
    assert abs(count_macs(meta(name)) / 1e6 - paper_mmacs) < 0.02 * paper_mmacs


def test_efficientnet_compound_scaling_rule():
    b0 = compound_scaling(0)
    assert (b0.depth_mult, b0.width_mult, b0.resolution) == (1.0, 1.0, 224)
    s = compound_scaling(2)
    assert s.depth_mult == pytest.approx(1.2 ** 2) and s.width_mult == pytest.approx(1.1 ** 2)
    assert s.resolution == round(224 * 1.15 ** 2)
    # each step of phi about doubles the cost: alpha * beta^2 * gamma^2 ~ 2
    assert 1.2 * 1.1 ** 2 * 1.15 ** 2 == pytest.approx(1.92, abs=0.01)
    with pytest.raises(ValueError, match="phi"):
        compound_scaling(-1)


def test_efficientnet_variants_grow_and_match_torchvision():
    macs, params = [], []
    for variant, scale in EFFICIENTNET_VARIANTS.items():
        ours = meta("efficientnet", variant=variant)
        with torch.device("meta"):
            theirs = tvm.get_model(f"efficientnet_{variant}")
        assert count_parameters(ours) == count_parameters(theirs)
        assert ours.input_size[1] == scale.resolution
        macs.append(count_macs(ours))
        params.append(count_parameters(ours))
    assert macs == sorted(macs) and params == sorted(params)
    assert 60 < macs[-1] / macs[0] < 120    # B7 at 600 px: about 2^6.5 times B0's cost


def test_efficientnet_lite0_drops_squeeze_excitation_and_swish():
    lite, b0 = meta("efficientnet_lite0"), meta("efficientnet_b0")
    kinds = {type(m).__name__ for m in lite.modules()}
    assert "ReLU6" in kinds and "SiLU" not in kinds and "SqueezeExcitation" not in kinds
    assert count_parameters(lite) == 4_652_008 < count_parameters(b0)


def test_convnext_tiny_stages_and_cost():
    model = meta("convnext_tiny")
    shapes = [r.output_shape for r in profile(model).rows if r.name.endswith("block.0")]
    assert set(shapes) == {(96, 56, 56), (192, 28, 28), (384, 14, 14), (768, 7, 7)}
    assert [len(model.features[i]) for i in (1, 3, 5, 7)] == [3, 3, 9, 3]
    assert round(count_macs(model) / 1e9, 1) == 4.5


# --- counting ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list_models())
def test_profile_macs_agree_with_pytorch_flop_counter(name):
    model = meta(name)
    rows = profile(model)
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, *model.input_size, device="meta"))
    assert rows.total_macs == counter.get_total_flops() // 2 == count_macs(model)
    assert rows.total_params == count_parameters(model)
    assert all(r.output_shape for r in rows.rows)


def test_count_macs_of_single_layers():
    conv = nn.Conv2d(3, 8, 5, padding=2, groups=1)
    assert count_macs(conv, (3, 16, 16)) == conv_macs(3, 8, 5, 16)
    assert count_macs(nn.Conv2d(8, 8, 3, padding=1, groups=8), (8, 10, 10)) == conv_macs(8, 8, 3, 10, groups=8)
    assert count_macs(nn.Linear(10, 4), (10,), batch_size=3) == 3 * 40


def test_profile_memory_latency_and_errors():
    torch.manual_seed(0)
    model = create_model("lenet5")
    result = profile(model, latency=True, repeats=2)
    conv1 = result.rows[0]
    assert conv1.output_shape == (6, 28, 28) and conv1.activation_bytes == 6 * 28 * 28 * 4
    assert result.latency_ms > 0 and "multiply-adds" in str(result)
    relu = [r for r in profile(meta("resnet18")).rows if r.kind == "ReLU"]
    assert relu and all(r.activation_bytes == 0 for r in relu)   # in place: no new memory
    with pytest.raises(ValueError, match="meta"):
        profile(meta("resnet18"), latency=True)
    with pytest.raises(ValueError, match="input_size"):
        count_macs(nn.Linear(3, 2))
    assert model.training  # profiling leaves the mode alone
