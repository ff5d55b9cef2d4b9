"""cnnlib.widgets.variants: footprints agree with torch.nn.functional, costs with nn layers, frames with fresh renders."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import ipywidgets as W  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from cnnlib.widgets import variants as V  # noqa: E402
from cnnlib.widgets.static import ENV_VAR, MIN_TEXT_PX, PrecomputedWidget, encode_figure, min_text_px  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _reference(variant: str, k: int, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The variant written with torch.nn.functional, on weights ``w`` (C, C, k, k)."""
    c, p = V.CHANNELS, k // 2
    if variant == "standard":
        return F.conv2d(x, w, padding=p)
    if variant == "dilated":
        return F.conv2d(x, w, padding=V.DILATION * p, dilation=V.DILATION)
    if variant == "transposed":
        return F.conv_transpose2d(x, w, stride=V.STRIDE, padding=p, output_padding=1)
    if variant == "grouped":
        return F.conv2d(x, w[:, : c // V.GROUPS], padding=p, groups=V.GROUPS)
    if variant == "depthwise":
        return F.conv2d(x, w[:, :1], padding=p, groups=c)
    if variant == "separable":
        return F.conv2d(F.conv2d(x, w[:, :1], padding=p, groups=c), w[:, :, :1, :1])
    mask = torch.ones(k, k)
    mask[k // 2, k // 2 + (variant == "masked B"):] = 0
    mask[k // 2 + 1:] = 0
    return F.conv2d(x, w * mask, padding=p)


@pytest.mark.parametrize("variant", V.VARIANTS)
@pytest.mark.parametrize("k", V.KERNEL_SIZES)
def test_footprint_is_the_support_of_the_reference_layers_gradient(variant, k):
    fp = V.variant_footprint(variant, k)
    x = torch.zeros(1, V.CHANNELS, V.GRID, V.GRID, requires_grad=True)
    w = torch.rand(V.CHANNELS, V.CHANNELS, k, k) + 0.5  # positive: no cancellation
    y = _reference(variant, k, x, w)
    assert y.shape[-1] == fp.output_size
    r, c = fp.output
    connected = torch.stack([torch.autograd.grad(y[0, o, r, c], x, retain_graph=True)[0][0] != 0
                             for o in range(V.CHANNELS)])
    assert torch.equal(fp.channels, connected.flatten(2).any(-1))
    assert torch.equal(fp.taps > 0, connected[0].any(0))
    assert int(fp.taps.max()) == 1  # one layer of taps: every reached pixel through one tap


def test_footprints_say_what_the_chapter_says():
    assert int((V.variant_footprint("standard", 5).taps > 0).sum()) == 25
    dilated = V.variant_footprint("dilated", 3).taps
    rows, cols = torch.nonzero(dilated, as_tuple=True)
    assert rows.unique().tolist() == [5, 7, 9] and cols.unique().tolist() == [5, 7, 9]
    assert int(V.variant_footprint("masked A", 3).taps.sum()) == 4
    assert int(V.variant_footprint("masked B", 3).taps.sum()) == 5
    grouped = V.variant_footprint("grouped", 3).channels
    assert torch.equal(grouped, torch.block_diag(*[torch.ones(2, 2)] * V.GROUPS).bool())
    assert torch.equal(V.variant_footprint("depthwise", 3).channels, torch.eye(V.CHANNELS).bool())
    assert bool(V.variant_footprint("separable", 3).channels.all())
    # Transposed with K=3, S=2: neighbouring outputs read different numbers of inputs (the checkerboard).
    centre, right = (int((V.variant_footprint("transposed", 3, col_offset=o).taps > 0).sum()) for o in (0, 1))
    assert centre != right


def _layer(variant: str, k: int) -> nn.Module:
    c = V.COST_CHANNELS
    if variant == "transposed":
        return nn.ConvTranspose2d(c, c, k, stride=V.STRIDE, padding=k // 2, output_padding=1, bias=False)
    if variant == "separable":
        return nn.Sequential(nn.Conv2d(c, c, k, padding=k // 2, groups=c, bias=False), nn.Conv2d(c, c, 1, bias=False))
    groups = {"grouped": V.GROUPS, "depthwise": c}.get(variant, 1)
    return nn.Conv2d(c, c, k, padding=k // 2, groups=groups, bias=False)


@pytest.mark.parametrize("variant", ["standard", "transposed", "grouped", "depthwise", "separable"])
def test_costs_match_layer_parameters_and_counted_flops(variant):
    k = 3
    cost = V.variant_cost(variant, k)
    layer = _layer(variant, k)
    size = V.COST_SIZE // (V.STRIDE if variant == "transposed" else 1)
    with FlopCounterMode(display=False) as counter:
        out = layer(torch.zeros(1, V.COST_CHANNELS, size, size))
    assert out.shape[-1] == V.COST_SIZE
    assert cost["params"] == sum(p.numel() for p in layer.parameters())
    assert 2 * cost["macs"] == counter.get_total_flops()


def test_the_separable_saving_for_k3_c256_is_the_chapters():
    from cnnlib import arith
    ratio = arith.conv_params(256, 256, 3, bias=False) / arith.separable_conv_params(256, 256, 3, bias=False)
    assert 8 < ratio < 9 and ratio == pytest.approx(1 / arith.separable_cost_ratio(256, 3))


@pytest.mark.parametrize("variant, k", [("dilated", 7), ("masked A", 3), ("transposed", 5)])
def test_text_is_readable_at_the_column_width(variant, k):
    html, fig = V.plot_variant(variant, k)
    assert fig.get_figwidth() <= 7.2 and min_text_px(fig) >= MIN_TEXT_PX
    assert variant in html and "weights" in html


def test_static_widget_frames_equal_fresh_renders(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1")
    widget = V.variant_explorer("grouped", 5)
    assert isinstance(widget, PrecomputedWidget)
    assert len(widget.frames) == len(V.VARIANTS) * len(V.KERNEL_SIZES)
    assert widget.nbytes < 1_000_000
    assert widget.shown() is widget.frames[("grouped", 5)]  # the page starts on the requested values
    # Every value of each control, with a value of the other one.
    for variant, k in [(v, V.KERNEL_SIZES[i % len(V.KERNEL_SIZES)]) for i, v in enumerate(V.VARIANTS)]:
        widget.controls["variant"].value, widget.controls["kernel_size"].value = variant, k
        frame = widget.shown()
        assert frame.tooltip == f"variant: {variant}, K: {k}"
        html, fig = V.plot_variant(variant, k)
        assert frame.children[0].value == html
        assert frame.children[-1].value == encode_figure(fig, colors=32)


def test_live_widget_redraws_on_change(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    widget = V.variant_explorer()
    assert not isinstance(widget, PrecomputedWidget)
    controls, text = widget.children[0].children, widget.children[1]
    assert "standard" in text.value
    controls[0].value = "depthwise"
    assert "depthwise" in text.value and isinstance(widget.children[2], W.Output)


@pytest.mark.parametrize("args, match", [(("strided", 3), "not one of"), (("standard", 4), "odd"),
                                         (("dilated", 9), "spans more"), (("standard", 0), "odd")])
def test_bad_input_is_refused_clearly(args, match):
    with pytest.raises(ValueError, match=match):
        V.variant_footprint(*args)
