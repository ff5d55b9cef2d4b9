"""cnnlib.transfer: the backbone/head split, head replacement, freezing and parameter groups."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlib.models import create_model
from cnnlib.transfer import (
    UnknownStageError,
    UnsupportedModelError,
    forward_features,
    forward_head,
    freeze,
    frozen_stages,
    head_module,
    num_features,
    param_groups,
    reset_classifier,
    stage_modules,
    stage_names,
    trainable_summary,
    unfreeze,
)

FAMILIES = ["mobilenet_v2", "efficientnet_lite0", "resnet18", "mobilenet_v3_small", "efficientnet_b0",
            "convnext_tiny", "densenet121"]


@pytest.fixture(scope="module")
def models():
    out = {}
    for name in FAMILIES:
        torch.manual_seed(0)
        out[name] = create_model(name).eval()
    return out


@pytest.mark.parametrize("name", FAMILIES)
def test_head_of_features_is_the_model(models, name):
    model = models[name]
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(forward_head(model, forward_features(model, x)), model(x), rtol=0, atol=0)
        pre = forward_head(model, forward_features(model, x), pre_logits=True)
    assert pre.shape == (2, num_features(model))
    with torch.no_grad():
        torch.testing.assert_close(head_module(model)(pre), model(x), rtol=0, atol=0)


@pytest.mark.parametrize("name", FAMILIES)
def test_stages_cover_every_parameter_once(models, name):
    model = models[name]
    seen = [id(p) for s in stage_names(model) for m in stage_modules(model, s) for p in m.parameters()]
    assert len(seen) == len(set(seen))
    assert set(seen) == {id(p) for p in model.parameters()}
    assert stage_names(model)[0] == "stem" and stage_names(model)[-1] == "head"


def test_reset_classifier_gives_a_new_head_and_keeps_the_backbone():
    torch.manual_seed(0)
    model = create_model("mobilenet_v2").eval()
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        before = forward_head(model, forward_features(model, x), pre_logits=True)
    reset_classifier(model, 7)
    assert isinstance(head_module(model), nn.Linear)
    assert head_module(model).out_features == 7 and head_module(model).in_features == 1280
    with torch.no_grad():
        assert model(x).shape == (3, 7)
        torch.testing.assert_close(forward_head(model, forward_features(model, x), pre_logits=True), before)
    assert isinstance(model.classifier[0], nn.Dropout)  # the dropout before the head stays


def test_reset_classifier_on_an_attribute_head():
    model = create_model("resnet18")
    reset_classifier(model, 3)
    assert model.fc.out_features == 3 and model.eval()(torch.zeros(1, 3, 32, 32)).shape == (1, 3)


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, None])
def test_reset_classifier_rejects_a_head_without_classes(bad):
    with pytest.raises(ValueError, match="at least one output"):
        reset_classifier(create_model("resnet18"), bad)


def test_unsupported_family_names_the_supported_ones():
    with pytest.raises(UnsupportedModelError, match="MobileNetV2.*VGG"):
        stage_names(create_model("lenet5"))


def test_unknown_stage_lists_the_valid_ones():
    model = create_model("resnet18")
    with pytest.raises(UnknownStageError, match=r"no stage 'layer4'.*stem, stage1, stage2, stage3, stage4, head"):
        freeze(model, "layer4")
    with pytest.raises(UnknownStageError, match="no stage"):
        unfreeze(model, ["stage1", "block9"])


def _train_steps(model, steps=3, size=32):
    g = torch.Generator().manual_seed(0)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5, momentum=0.9)
    model.train()
    for _ in range(steps):
        x = torch.randn(8, 3, size, size, generator=g)
        y = torch.randint(0, head_module(model).out_features, (8,), generator=g)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_frozen_backbone_gets_no_gradient_and_stays_bit_identical():
    torch.manual_seed(0)
    model = reset_classifier(create_model("mobilenet_v2"), 4)
    freeze(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    head_before = head_module(model).weight.clone()
    g = torch.Generator().manual_seed(0)
    loss = model(torch.randn(4, 3, 32, 32, generator=g)).sum()
    loss.backward()
    backbone = [p for s in stage_names(model)[:-1] for m in stage_modules(model, s) for p in m.parameters()]
    assert all(p.grad is None and not p.requires_grad for p in backbone)
    assert head_module(model).weight.grad is not None
    _train_steps(model)
    after = model.state_dict()
    head_keys = {f"classifier.1.{n}" for n in ("weight", "bias")}
    for k, v in before.items():  # parameters and batch-norm buffers alike
        if k not in head_keys:
            assert torch.equal(v, after[k]), k
    assert not torch.equal(head_before, head_module(model).weight)
    assert frozen_stages(model) == stage_names(model)[:-1]


def test_freeze_by_stage_and_unfreeze():
    model = create_model("resnet18")
    freeze(model, ["stem", "stage1"])
    assert frozen_stages(model) == ["stem", "stage1"]
    rows = dict((s, (t, a)) for s, t, a in trainable_summary(model))
    assert rows["stem"][0] == 0 and rows["stage2"][0] == rows["stage2"][1] > 0
    unfreeze(model, "stage1")
    assert frozen_stages(model) == ["stem"]
    unfreeze(model)
    assert frozen_stages(model) == [] and all(p.requires_grad for p in model.parameters())


def _bn_buffers(model):
    return {k: v.clone() for k, v in model.state_dict().items() if "running_" in k or "num_batches" in k}


def test_bn_eval_mode_keeps_running_statistics_even_in_train_mode():
    model = reset_classifier(create_model("mobilenet_v2"), 3)
    freeze(model, bn="eval")
    before = _bn_buffers(model)
    model.train()
    with torch.no_grad():
        model(torch.randn(8, 3, 32, 32) * 3 + 1)
    after = _bn_buffers(model)
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_bn_train_mode_updates_running_statistics_of_a_frozen_backbone():
    model = reset_classifier(create_model("mobilenet_v2"), 3)
    freeze(model, bn="train")
    before = _bn_buffers(model)
    model.train()
    x = torch.randn(8, 3, 32, 32) * 3 + 1
    with torch.no_grad():
        model(x)
    after = _bn_buffers(model)
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed and all(p.requires_grad is False for p in model.features.parameters())
    # what PyTorch's batch norm does: running = (1 - 0.1) running + 0.1 * batch statistic
    stem_bn = model.features[0][1]
    with torch.no_grad():
        stem_out = model.features[0][0](x)
    expected = 0.9 * before["features.0.1.running_mean"] + 0.1 * stem_out.mean(dim=(0, 2, 3))
    torch.testing.assert_close(stem_bn.running_mean, expected.detach(), rtol=1e-4, atol=1e-5)


def test_unfreeze_with_bn_eval_trains_weights_but_keeps_statistics():
    model = reset_classifier(create_model("mobilenet_v2"), 3)
    unfreeze(model, bn="eval")
    before = _bn_buffers(model)
    weight = model.features[0][0].weight.clone()
    _train_steps(model, steps=2)
    after = _bn_buffers(model)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not torch.equal(weight, model.features[0][0].weight)
    unfreeze(model)  # back to following the model's mode
    model.train()
    with torch.no_grad():
        model(torch.randn(4, 3, 32, 32))
    assert not torch.equal(before["features.0.1.running_mean"], model.features[0][1].running_mean)


def test_freeze_rejects_an_unknown_bn_mode():
    with pytest.raises(ValueError, match="choose 'eval'"):
        freeze(create_model("resnet18"), bn="frozen")
    with pytest.raises(ValueError, match="choose 'train'"):
        unfreeze(create_model("resnet18"), bn="off")


def test_param_groups_give_the_backbone_a_smaller_rate():
    model = reset_classifier(create_model("resnet18"), 5)
    groups = param_groups(model, 1e-3, backbone_lr=1e-4)
    assert [g["name"] for g in groups] == stage_names(model)
    assert groups[-1]["lr"] == 1e-3 and all(g["lr"] == 1e-4 for g in groups[:-1])
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))
    optimizer = torch.optim.AdamW(groups)
    assert [g["lr"] for g in optimizer.param_groups] == [g["lr"] for g in groups]


def test_param_groups_decay_per_stage_and_skip_frozen():
    model = reset_classifier(create_model("resnet18"), 5)
    freeze(model, ["stem", "stage1"])
    groups = param_groups(model, 1e-2, decay=0.5)
    assert [g["name"] for g in groups] == ["stage2", "stage3", "stage4", "head"]
    assert [g["lr"] for g in groups] == pytest.approx([1e-2 / 8, 1e-2 / 4, 1e-2 / 2, 1e-2])
    freeze(model)
    assert [g["name"] for g in param_groups(model, 1e-3)] == ["head"]


def test_param_groups_errors():
    model = create_model("resnet18")
    with pytest.raises(ValueError, match="not both"):
        param_groups(model, 1e-3, backbone_lr=1e-4, decay=0.5)
    with pytest.raises(ValueError, match="must be in"):
        param_groups(model, 1e-3, decay=1.5)
    with pytest.raises(ValueError, match="> 0"):
        param_groups(model, 0)
    freeze(model, stage_names(model))
    with pytest.raises(ValueError, match="every parameter is frozen"):
        param_groups(model, 1e-3)


def test_feature_drift_is_zero_only_with_pinned_batch_norm():
    from cnnlib.transfer import feature_drift

    x = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 + 1
    pinned = freeze(reset_classifier(create_model("mobilenet_v2"), 3), bn="eval")
    free = freeze(reset_classifier(create_model("mobilenet_v2"), 3), bn="train").eval()
    assert feature_drift(pinned, x) == 0.0
    assert feature_drift(free, x) > 0.01
    assert not free.training
