"""Chapter 7's figures and architecture explorer: right numbers, page-sized, static frames match the controls."""
import matplotlib

matplotlib.use("Agg")

import ipywidgets as W  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from cnnlib.models import create_model  # noqa: E402
from cnnlib.models.stages import stage_table  # noqa: E402
from cnnlib.viz.architectures import TimelineEntry, plot_cost_split, plot_stages, plot_timeline  # noqa: E402
import cnnlib.widgets.architecture_explorer  # noqa: E402,F401
import sys  # noqa: E402

A = sys.modules["cnnlib.widgets.architecture_explorer"]  # the module (the package exports its function)
from cnnlib.widgets.static import ENV_VAR, MIN_TEXT_PX, PrecomputedWidget, min_text_px  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _fits(fig):
    assert fig.get_figwidth() <= 7.2
    assert min_text_px(fig) >= MIN_TEXT_PX


def test_cost_split_writes_each_layers_share():
    fig = plot_cost_split(["a", "b"], [30, 10], [1, 3])
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"75", "25"} <= texts
    _fits(fig)
    with pytest.raises(ValueError, match="as many"):
        plot_cost_split(["a"], [1, 2], [1, 2])


def test_stage_figure_has_one_bar_per_stage_with_the_measured_parameters():
    with torch.device("meta"):
        stages = stage_table(create_model("alexnet_2012"))
    fig = plot_stages(stages, title="AlexNet")
    params_axis = fig.axes[0]
    widths = [p.get_width() for p in params_axis.patches]
    assert widths == pytest.approx([s.params / 1e6 for s in stages])
    assert [t.get_text() for t in params_axis.get_yticklabels()][0].startswith("55x55")
    _fits(fig)


def test_timeline_marks_measured_counts_only_where_given():
    entries = [TimelineEntry(2012, "A", 60.0, 60.0, 61.1), TimelineEntry(2014, "B", 70.0, 138.0, None),
               TimelineEntry(2020, "C", 90.0, 480.0, None)]
    fig = plot_timeline(entries)
    quoted, measured = fig.axes[1].collections
    assert len(quoted.get_offsets()) == 3 and len(measured.get_offsets()) == 1
    assert fig.axes[1].get_yscale() == "log"
    _fits(fig)


def test_describe_architecture_totals_are_the_models():
    html, fig = A.describe_architecture("vgg16")
    assert "138.36 M" in html and "15.47 G" in html
    _fits(fig)


def test_explorer_refuses_a_model_it_does_not_offer():
    with pytest.raises(ValueError, match="not among"):
        A.architecture_explorer("lenet5", models=("vgg11",))


def test_static_explorer_has_one_frame_per_model_named_in_its_tooltip(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1")
    widget = A.architecture_explorer("googlenet", models=("alexnet_2012", "googlenet"))
    assert isinstance(widget, PrecomputedWidget)
    control = widget.controls["name"]
    for i, name in enumerate(control.options):
        control.index = i
        assert name in widget.shown().tooltip


def test_live_explorer_redraws_on_change(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    widget = A.architecture_explorer("vgg11", models=("vgg11", "zfnet"))
    control, text = widget.children[0], widget.children[1]
    assert isinstance(control, W.Dropdown) and "vgg11" in text.value
    control.value = "zfnet"
    assert "zfnet" in text.value


def test_imagenet_models_are_three_channel_networks_of_a_thousand_classes():
    names = A.imagenet_models()
    assert {"alexnet", "vgg16", "googlenet", "resnet50"} <= set(names)
    assert "lenet5" not in names and "cifar_resnet20" not in names
