"""cnnlib.widgets.static: every frame is the render for its control values, the links select it, the grid is bounded."""
from __future__ import annotations

import importlib
import io
import itertools

import matplotlib

matplotlib.use("Agg")

import ipywidgets as W  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from cnnlib.data.images import sample_image  # noqa: E402
from cnnlib.widgets import kernel_explorer, photo_browser, sliding_window  # noqa: E402
from cnnlib.widgets.static import (ENV_VAR, MIN_TEXT_PX, PrecomputedWidget, encode_figure, min_text_px,  # noqa: E402
                                   precomputed, static_mode)

# The modules (the package's names are the widget functions).
pb_module, ke_module, sw_module = (importlib.import_module(f"cnnlib.widgets.{name}")
                                   for name in ("photo_browser", "kernel_explorer", "sliding_window"))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _plot(shape: str, size: int) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.plot(range(size), [i if shape == "line" else i * i for i in range(size)])
    ax.set_title(f"{shape} {size}")
    return fig


def _controls():
    return {"shape": W.Dropdown(options=["line", "square", "cube"], value="square", description="shape"),
            "size": W.SelectionSlider(options=[2, 3, 5, 8], value=5, description="size")}


def _select(widget: PrecomputedWidget, **values) -> W.Widget:
    for name, value in values.items():
        widget.controls[name].value = value
    return widget.shown()


def test_one_frame_per_combination_nested_in_control_order():
    widget = precomputed(_plot, _controls())
    assert len(widget.frames) == 12 and len(widget.images) == 12
    assert len(widget.stack.children) == 3 and all(len(s.children) == 4 for s in widget.stack.children)
    assert widget.nbytes == sum(len(i.value) for i in widget.images.values())
    # Each Stack starts on its control's value, so the page shows the right frame before any move.
    assert widget.stack.selected_index == 1 and widget.stack.children[1].selected_index == 2


def test_every_frame_equals_a_fresh_render_and_names_its_values():
    widget = precomputed(_plot, _controls())
    for shape, size in itertools.product(["line", "square", "cube"], [2, 3, 5, 8]):
        frame = _select(widget, shape=shape, size=size)
        assert frame is widget.frames[(shape, size)]
        assert frame.tooltip == f"shape: {shape}, size: {size}"
        fresh = _plot(shape, size)
        assert frame.children[-1].value == encode_figure(fresh)


def test_each_stack_is_jslinked_to_its_controls_index():
    widget = precomputed(_plot, _controls())
    stacks = [widget.stack, *widget.stack.children]
    linked = {(id(link.target[0]), link.target[1]): (link.source[0], link.source[1]) for link in widget._links}
    assert len(widget._links) == len(stacks) == 4
    assert linked[(id(widget.stack), "selected_index")] == (widget.controls["shape"], "index")
    for inner in widget.stack.children:
        assert linked[(id(inner), "selected_index")] == (widget.controls["size"], "index")


def test_key_draws_equal_frames_once_and_html_travels_with_each_frame():
    calls = []

    def render(shape, size):
        calls.append((shape, size))
        return f"<b>{shape}</b>", (_plot(shape, 3) if shape != "cube" else None)

    widget = precomputed(render, _controls(), key=lambda shape, size: shape)
    assert len(calls) == 3 and len(widget.frames) == 12 and len(widget.images) == 2
    frame = _select(widget, shape="line", size=8)
    assert frame.children[0].value == "<b>line</b>" and frame.children[1] is _select(widget, shape="line", size=2).children[1]
    assert [type(c) for c in _select(widget, shape="cube", size=3).children] == [W.HTML]


def test_only_the_widgets_shown_are_made():
    """Every widget made is saved with the page: no spare images or texts for repeated frames."""
    from ipywidgets.widgets.widget import _instances

    before = set(_instances)
    widget = precomputed(lambda shape, size: (f"<b>{shape}</b>", _plot(shape, 3)), _controls())  # 12 draws
    made = [w for k, w in _instances.items() if k not in before]
    assert sum(isinstance(w, W.Image) for w in made) == len(widget.images) == 3
    assert sum(type(w) is W.HTML for w in made) == 3


def test_a_grid_too_large_is_refused_before_drawing():
    calls = []
    controls = {"a": W.SelectionSlider(options=list(range(30))), "b": W.SelectionSlider(options=list(range(30)))}
    with pytest.raises(ValueError, match=r"30 a x 30 b = 900 combinations need 900 distinct frames.*max_frames=200"):
        precomputed(lambda a, b: calls.append(1), controls)
    assert not calls
    huge = {n: W.SelectionSlider(options=list(range(50))) for n in "xyz"}
    with pytest.raises(ValueError, match="125000 combinations, more than 2000"):
        precomputed(lambda x, y, z: calls.append(1), huge, key=lambda x, y, z: 0)
    assert not calls


def test_frames_too_heavy_are_refused_with_their_size():
    with pytest.raises(ValueError, match=r"12 distinct frames weigh [\d,]+ bytes, more than max_bytes=1,000"):
        precomputed(_plot, _controls(), max_bytes=1000)


def test_controls_without_an_index_or_options_are_refused():
    with pytest.raises(TypeError, match="IntSlider.*SelectionSlider"):
        precomputed(_plot, {"shape": W.IntSlider()})
    with pytest.raises(ValueError, match="offers no options"):
        precomputed(_plot, {"shape": W.Dropdown(options=[])})
    with pytest.raises(ValueError, match="at least one control"):
        precomputed(_plot, {})


def test_encode_figure_fits_the_column_and_is_deterministic():
    fig = _plot("line", 4)
    fig.set_size_inches(12, 3)
    for fmt, colors in [("png", None), ("png", 64), ("jpeg", None)]:
        data = encode_figure(fig, image_format=fmt, colors=colors)
        assert data == encode_figure(fig, image_format=fmt, colors=colors)
        assert Image.open(io.BytesIO(data)).size[0] == 690
    assert Image.open(io.BytesIO(encode_figure(_plot("line", 4)))).size[0] == 400  # never enlarged past 100 dpi
    assert min_text_px(fig) == pytest.approx(10 * 690 / 12 / 72)
    with pytest.raises(ValueError, match="'png' or 'jpeg'"):
        encode_figure(fig, image_format="gif")


@pytest.mark.parametrize("value,expected", [("", False), ("0", False), ("1", True), ("yes", True)])
def test_static_mode_follows_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv(ENV_VAR, value)
    assert static_mode() is expected


# The chapter widgets, on small grids (the book's full grids are drawn by the book build, which
# refuses them when they outgrow max_bytes).

def test_photo_browser_frames_are_the_live_figures(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1")
    monkeypatch.setattr(pb_module, "STATIC_PHOTOS", ["cat", "camera"])
    widget = photo_browser("cat")
    assert isinstance(widget, PrecomputedWidget) and len(widget.frames) == 2 * len(pb_module.CHANNEL_VIEWS)
    frame = _select(widget, photo="camera", channel="red")
    assert frame.tooltip == "photo: camera, channel: red"
    assert frame.children[-1].value == encode_figure(pb_module.plot_photo_channels(sample_image("camera"), "camera",
                                                                                    "red"), image_format="jpeg")
    monkeypatch.delenv(ENV_VAR)
    assert not isinstance(photo_browser("cat"), PrecomputedWidget)


def test_kernel_explorer_frames_are_the_live_views(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1")
    monkeypatch.setattr(ke_module, "STATIC_GRID", {"photo": ["coins"], "kernel_size": [3, 5], "sigma": [1.0, 2.0]})
    widget = kernel_explorer(photo="coins", kernel="gaussian", sigma=2.0, size=48)
    n_kernels = len(widget.controls["kernel"].options)
    assert len(widget.frames) == n_kernels * 4 and len(widget.images) == n_kernels + 3 + 1  # size/sigma only where used
    for kernel, k, sigma in [("gaussian", 3, 1.0), ("box", 5, 2.0), ("sobel_y", 5, 1.0)]:
        frame = _select(widget, kernel=kernel, kernel_size=k, sigma=sigma)
        message, fig = ke_module.kernel_view("coins", kernel, k, sigma, size=48)
        assert frame.children[0].value == message and frame.children[1].value == encode_figure(fig, image_format="jpeg")
        assert frame.tooltip == f"photo: coins, kernel: {kernel}, size K: {k}, sigma: {sigma}"


def test_sliding_window_frames_are_the_live_views(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1")
    monkeypatch.setattr(sw_module, "STATIC_GRID", {"input_size": [4, 16], "kernel_size": [3, 5], "padding": [0],
                                                   "stride": [1, 3]})
    widget = sliding_window(input_size=16, kernel_size=3, padding=1, stride=2)  # off-grid values start at the first
    assert len(widget.frames) == 8 and widget.shown() is widget.frames[(16, 3, 0, 1)]
    for h, k, s in [(4, 5, 1), (16, 5, 3)]:
        frame = _select(widget, input_size=h, kernel_size=k, stride=s)
        window = sw_module.SlidingWindow(h, k, 0, s)
        assert frame.children[0].value == sw_module.window_message(window)
        assert frame.children[1].value == encode_figure(sw_module.plot_sliding_window(window), colors=64)
    assert "No output" in _select(widget, input_size=4, kernel_size=5).children[0].value


@pytest.mark.parametrize("figure", [
    lambda: sw_module.plot_sliding_window(sw_module.SlidingWindow(16, 5, 2, 1)),
    lambda: sw_module.plot_sliding_window(sw_module.SlidingWindow(4, 1, 0, 3)),
    lambda: pb_module.plot_photo_channels(sample_image("grace_hopper"), "grace_hopper", "green"),
    lambda: ke_module.kernel_view("coins", "sobel_x", size=48)[1],
    lambda: ke_module.kernel_view("cat", "gaussian", sigma=4.0, size=48)[1],
], ids=["window-16", "window-4", "photo", "kernel-sobel", "kernel-gaussian"])
def test_widget_figures_keep_text_readable_at_the_column_width(figure):
    assert min_text_px(figure()) >= MIN_TEXT_PX - 0.05
