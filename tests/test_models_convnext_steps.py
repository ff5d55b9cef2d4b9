"""The ResNet-50 to ConvNeXt-T road: its ends are the real networks, each step changes what it names."""
from __future__ import annotations

import dataclasses

import pytest
import torch
import torchvision.models as tvm
from torch import nn

from cnnlib.models import count_macs, count_parameters, create_model
from cnnlib.models.convnext_steps import CONVNEXT_STEPS, ModernizeConfig, ModernizedBlock, ModernizedResNet


def meta_cost(build) -> tuple[int, int]:
    with torch.device("meta"):
        net = build()
    return count_parameters(net), count_macs(net, (3, 224, 224))


def test_first_step_is_torchvision_resnet50_and_last_is_convnext_tiny():
    assert meta_cost(lambda: ModernizedResNet(CONVNEXT_STEPS[0].config)) == meta_cost(tvm.resnet50)
    assert meta_cost(lambda: ModernizedResNet(CONVNEXT_STEPS[-1].config)) == meta_cost(tvm.convnext_tiny)
    assert meta_cost(tvm.convnext_tiny) == meta_cost(lambda: create_model("convnext_tiny"))


def test_every_step_costs_what_the_paper_prints():
    for step in CONVNEXT_STEPS:
        _, macs = meta_cost(lambda: ModernizedResNet(step.config))
        assert abs(macs / 1e9 - step.paper_gflops) < 0.06, step.name


def test_each_step_changes_one_thing_and_the_recipe_step_changes_no_architecture():
    for before, after in zip(CONVNEXT_STEPS, CONVNEXT_STEPS[1:]):
        changed = {f.name for f in dataclasses.fields(ModernizeConfig)
                   if getattr(before.config, f.name) != getattr(after.config, f.name)}
        assert len(changed) <= 2, (after.name, changed)  # "depthwise, width 96" sets two fields
    assert CONVNEXT_STEPS[1].config == CONVNEXT_STEPS[0].config


def test_intermediate_steps_run_and_change_the_layers_they_name():
    by_name = {s.name: s.config for s in CONVNEXT_STEPS}
    block = ModernizedBlock(96, 96, 1, by_name["kernel 7x7"])
    convs = [m for m in block.branch if isinstance(m, nn.Conv2d)]
    assert convs[0].kernel_size == (7, 7) and convs[0].groups == 96
    assert sum(isinstance(m, nn.GELU) for m in ModernizedBlock(96, 96, 1, by_name["ReLU -> GELU"]).modules()) == 3
    few = ModernizedBlock(96, 96, 1, by_name["fewer activations"])
    assert sum(isinstance(m, nn.GELU) for m in few.modules()) == 1
    norms = ModernizedBlock(96, 96, 1, by_name["fewer norms"])
    assert sum(isinstance(m, nn.BatchNorm2d) for m in norms.modules()) == 1
    x = torch.randn(2, 3, 64, 64)
    for step in CONVNEXT_STEPS[4:7]:
        torch.manual_seed(0)
        net = ModernizedResNet(step.config, num_classes=5).eval()
        assert net(x).shape == (2, 5)


def test_a_residual_block_with_a_zero_branch_passes_its_input():
    block = ModernizedBlock(32, 32, 1, CONVNEXT_STEPS[-1].config)
    with torch.no_grad():
        block.layer_scale.zero_()
    x = torch.randn(2, 32, 8, 8)
    torch.testing.assert_close(block(x), x)


def test_bad_configs_say_what_to_change():
    with pytest.raises(ValueError, match="block='inverted'"):
        ModernizeConfig(fewer_norms=True)
    with pytest.raises(ValueError, match="odd"):
        ModernizeConfig(kernel=4)
    with pytest.raises(ValueError, match="norm"):
        ModernizeConfig(norm="group")
    with pytest.raises(TypeError, match="ModernizeConfig"):
        ModernizedResNet({"depths": (1, 1, 1, 1)})


def test_meta_model_counts_like_a_real_model_without_memory():
    from cnnlib.models import meta_model

    net = meta_model("cifar_resnet20", widths=(4, 8, 16))
    assert all(p.is_meta for p in net.parameters())
    assert count_parameters(net) == count_parameters(create_model("cifar_resnet20", widths=(4, 8, 16)))
    with pytest.raises(ValueError, match="weights"):
        meta_model("mobilenet_v2", weights="DEFAULT")
