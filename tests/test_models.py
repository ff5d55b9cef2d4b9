"""The model registry: every model builds and runs, parameter counts match the lectures."""
from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from cnnlib.models import (
    ClassicCNNConfig,
    UnknownModelError,
    count_macs,
    count_parameters,
    create_model,
    get_model_spec,
    list_models,
    register_model,
    summary,
)


def conv_params(c_in: int, c_out: int, k: int) -> int:
    return (k * k * c_in + 1) * c_out


def linear_params(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


# Models above this many multiply-adds per image run on the meta device here (shapes and the autograd
# graph, no numbers): their numbers are checked against torchvision in test_models_torchvision.py.
REAL_RUN_MACS = 700_000_000


def build(name: str, **kwargs) -> tuple[nn.Module, torch.device]:
    """The model, with real weights when it is cheap to run, else on the meta device."""
    with torch.device("meta"):
        model = create_model(name, **kwargs)
    if count_macs(model) > REAL_RUN_MACS:
        return model, torch.device("meta")
    torch.manual_seed(0)
    return create_model(name, **kwargs), torch.device("cpu")


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_builds_and_runs(name):
    model, device = build(name)
    assert isinstance(model, nn.Module)
    c, h, w = model.input_size
    x = torch.rand(2, c, h, w, device=device)
    model.eval()
    with torch.no_grad():
        out = model(x)
    assert out.shape[0] == 2 and out.ndim == 2
    if device.type != "meta":
        assert torch.isfinite(out).all()
    # the same model in train mode gives gradients for every parameter
    model.train()
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("name", list_models())
def test_every_model_follows_num_classes_and_in_channels(name):
    accepted = get_model_spec(name).parameters
    kwargs = {k: v for k, v in {"num_classes": 7, "in_channels": 2}.items() if k in accepted}
    model, device = build(name, **kwargs)
    out = model(torch.rand(2, *model.input_size, device=device))
    assert model.input_size[0] == kwargs.get("in_channels", model.input_size[0])
    assert out.shape == (2, kwargs.get("num_classes", out.shape[1]))


@pytest.mark.parametrize("name", list_models())
def test_builders_are_keyword_only(name):
    with pytest.raises(TypeError):
        get_model_spec(name).builder(1)


def test_lenet5_shapes_and_parameters_match_the_lecture_table():
    model = create_model("lenet5")
    shapes, x = [], torch.rand(1, 1, 28, 28)
    for layer in list(model.features) + list(model.classifier):
        x = layer(x)
        shapes.append(tuple(x.shape[1:]))
    # conv1, act, pool1, conv2, act, pool2, flatten, fc1, act, fc2, act, fc3
    assert shapes[0] == (6, 28, 28)
    assert shapes[2] == (6, 14, 14)
    assert shapes[3] == (16, 10, 10)
    assert shapes[5] == (16, 5, 5)
    assert [shapes[7], shapes[9], shapes[11]] == [(120,), (84,), (10,)]
    expected = (conv_params(1, 6, 5) + conv_params(6, 16, 5) + linear_params(400, 120)
                + linear_params(120, 84) + linear_params(84, 10))
    assert expected == 61_706
    assert count_parameters(model) == expected


def test_lenet5_on_32x32_unpadded_is_the_same_network():
    small, big = create_model("lenet5", input_size=28), create_model("lenet5", input_size=32)
    assert small.features.conv1.padding == (2, 2) and big.features.conv1.padding == (0, 0)
    assert count_parameters(big) == count_parameters(small) == 61_706
    big.load_state_dict(small.state_dict())
    x = torch.rand(2, 1, 28, 28)
    torch.testing.assert_close(big(nn.functional.pad(x, (2, 2, 2, 2))), small(x))


def test_lenet5_rejects_other_sizes_with_advice():
    with pytest.raises(ValueError, match="28x28"):
        create_model("lenet5", input_size=8)


def test_keras_cnn_reproduces_the_lecture_summary():
    model = create_model("keras_cnn")
    stats = summary(model)
    assert stats.total_params == 24_147
    per_layer = [conv_params(3, 16, 3), conv_params(16, 32, 3), conv_params(32, 48, 3), linear_params(1728, 3)]
    assert per_layer == [448, 4_640, 13_872, 5_187]
    assert [count_parameters(m) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))] == per_layer
    text = str(stats)
    for shape in ("[1, 16, 62, 62]", "[1, 16, 31, 31]", "[1, 32, 29, 29]", "[1, 32, 14, 14]",
                  "[1, 48, 12, 12]", "[1, 48, 6, 6]", "[1, 1728]", "[1, 3]"):
        assert shape in text


def test_simple_cnn_matches_the_lecture_shapes():
    model = create_model("simple_cnn", in_channels=3, num_classes=1)
    x = torch.rand(1, 3, 28, 28)
    assert model.conv1(x).shape == (1, 64, 26, 26)
    assert model.pool2(model.conv2(model.pool1(model.conv1(x)))).shape == (1, 32, 5, 5)
    expected = conv_params(3, 64, 3) + conv_params(64, 32, 3) + linear_params(800, 64) + linear_params(64, 1)
    assert count_parameters(model) == expected
    assert model.dropout.p == 0.5
    # dropout is active in train mode only
    model.eval()
    torch.testing.assert_close(model(x), model(x))


def test_simple_cnn_too_small_input_is_explained():
    with pytest.raises(ValueError, match="at least 14x14"):
        create_model("simple_cnn", input_size=8)


def test_mlp_parameter_count():
    model = create_model("mlp", input_size=8, hidden_features=(64, 32))
    assert count_parameters(model) == linear_params(64, 64) + linear_params(64, 32) + linear_params(32, 10)
    assert count_parameters(create_model("mlp", hidden_features=())) == linear_params(64, 10)


def test_classic_template_counts_layers_and_parameters():
    cfg = ClassicCNNConfig.from_counts(n=2, m=2, k=1, width=8, fc_width=32)
    assert cfg.stages == ((8, 8), (16, 16)) and cfg.fc_features == (32,)
    model = create_model("classic_cnn", config=cfg)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    pools = [m for m in model.modules() if isinstance(m, nn.MaxPool2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert (len(convs), len(pools), len(linears)) == (4, 2, 2)
    # "same" padding: only the two pools shrink 28 -> 14 -> 7
    expected = (conv_params(1, 8, 3) + conv_params(8, 8, 3) + conv_params(8, 16, 3) + conv_params(16, 16, 3)
                + linear_params(16 * 7 * 7, 32) + linear_params(32, 10))
    assert count_parameters(model) == expected
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)


def test_classic_template_without_convolutions_is_an_mlp_on_pooled_pixels():
    model = create_model("classic_cnn", stages=((),), fc_features=(), input_size=8)
    assert count_parameters(model) == linear_params(16, 10)


def test_classic_template_explains_vanishing_maps():
    with pytest.raises(ValueError, match="stage 4"):
        create_model("classic_cnn", input_size=8, stages=((4,), (4,), (4,), (4,)))
    with pytest.raises(ValueError, match="vanish"):
        create_model("classic_cnn", input_size=8, padding=0, kernel_size=5, stages=((4, 4),))


def test_unknown_model_lists_the_valid_names():
    with pytest.raises(UnknownModelError) as info:
        create_model("lenet6")
    message = str(info.value)
    assert "lenet6" in message
    for name in list_models():
        assert name in message
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)


def test_unknown_argument_lists_the_accepted_ones():
    with pytest.raises(TypeError, match="num_clases.*accepts: .*num_classes"):
        create_model("lenet5", num_clases=10)


def test_conflicting_arguments_are_an_error():
    cfg = ClassicCNNConfig(num_classes=10)
    with pytest.raises(ValueError, match="conflicting.*num_classes=5"):
        create_model("classic_cnn", config=cfg, num_classes=5)
    # agreeing values are fine
    assert create_model("classic_cnn", config=cfg, num_classes=10)(torch.rand(1, 1, 28, 28)).shape == (1, 10)
    assert dataclasses.replace(cfg, num_classes=5).num_classes == 5


@pytest.mark.parametrize("kwargs", [{"num_classes": 0}, {"in_channels": -1}, {"pool": "median"},
                                    {"activation": "gelu"}, {"num_classes": 2.5}])
def test_bad_values_are_named_in_the_error(kwargs):
    (name, value), = kwargs.items()
    with pytest.raises(ValueError, match=name):
        create_model("lenet5", **kwargs)


def test_register_model_refuses_duplicates_and_positional_builders():
    with pytest.raises(ValueError, match="already registered"):
        register_model("lenet5")(lambda *, num_classes=10: nn.Linear(1, num_classes))
    with pytest.raises(ValueError, match="keyword-only"):
        register_model("positional_model_for_test")(lambda num_classes=10: nn.Linear(1, num_classes))
    assert "positional_model_for_test" not in list_models()


def test_summary_needs_an_input_size_for_foreign_models():
    with pytest.raises(ValueError, match="input_size"):
        summary(nn.Sequential(nn.Linear(3, 2)))
    assert summary(nn.Sequential(nn.Linear(3, 2)), (3,)).total_params == 8


def test_summary_leaves_the_training_mode_alone():
    model = create_model("simple_cnn")
    model.train()
    summary(model)
    assert model.training
