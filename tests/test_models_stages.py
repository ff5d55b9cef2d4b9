"""cnnlib.models.stages: weight-layer and stage tables agree with the layers themselves and with FlopCounterMode."""
import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlib.models import count_macs, create_model
from cnnlib.models import meta_model
from cnnlib.models.stages import stage_table, weight_layers


def _flop_macs(layer: nn.Module, shape) -> int:
    with FlopCounterMode(display=False) as counter:
        layer(torch.zeros(1, *shape))
    return counter.get_total_flops() // 2


def test_weight_layers_of_a_small_net_match_each_layer_measured_alone():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 5, stride=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 4, 3, bias=False),
                        nn.Flatten(), nn.Linear(4 * 5 * 5, 7))
    rows = weight_layers(net, (3, 31, 31))
    assert [r.kind for r in rows] == ["Conv2d", "Conv2d", "Linear"]
    shapes = [(3, 31, 31), (8, 7, 7), (100,)]
    layers = [net[0], net[3], net[5]]
    for row, layer, shape in zip(rows, layers, shapes):
        assert row.weights == layer.weight.numel()
        assert row.biases == (0 if layer.bias is None else layer.bias.numel())
        assert row.macs == _flop_macs(layer, shape)
    assert [r.output_shape for r in rows] == [(8, 14, 14), (4, 5, 5), (7,)]
    assert sum(r.params for r in rows) == sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("name", ["alexnet_2012", "vgg11", "googlenet", "resnet18", "mobilenet_v2"])
def test_stages_cover_the_model_in_order_with_its_parameters_and_macs(name):
    with torch.device("meta"):
        model = create_model(name)
    stages = stage_table(model)
    assert sum(s.params for s in stages) == sum(p.numel() for p in model.parameters())
    assert sum(s.macs for s in stages) == count_macs(model)
    sizes = [s.output_shape[-1] for s in stages if len(s.output_shape) == 3]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)
    assert stages[-1].name == "head" and stages[-1].output_shape == (1000,)


def test_alexnet_2012_stages_are_the_papers_resolutions():
    with torch.device("meta"):
        stages = stage_table(create_model("alexnet_2012"))
    assert [s.name for s in stages] == ["55x55", "27x27", "13x13", "6x6", "head"]
    assert [s.output_shape[0] for s in stages[:4]] == [96, 256, 256, 256]


def test_stage_table_refuses_a_leaf_module():
    with pytest.raises(ValueError, match="no child modules"):
        stage_table(nn.Conv2d(3, 4, 3), (3, 8, 8))


def test_meta_model_has_the_real_models_parameter_shapes_and_no_data():
    meta, real = meta_model("alexnet_2012", groups=2), create_model("alexnet_2012", groups=2)
    assert all(p.is_meta for p in meta.parameters())
    assert [(n, p.shape) for n, p in meta.named_parameters()] == [(n, p.shape) for n, p in real.named_parameters()]
