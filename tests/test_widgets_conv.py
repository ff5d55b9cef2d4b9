"""Chapter 2 and 3 widgets and figures: geometry checked by brute force, invalid settings explained."""
from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from cnnlib.arith import receptive_field  # noqa: E402
from cnnlib.kernels import gaussian, kernel_names, sobel_x  # noqa: E402
from cnnlib.viz import draw_grid, layer_sizes, plot_cross_correlation, plot_kernel_effect, plot_receptive_field  # noqa: E402
from cnnlib.viz import receptive_field_path  # noqa: E402
from cnnlib.widgets import kernel_explorer, sliding_window  # noqa: E402
from cnnlib.widgets.kernel_explorer import CUSTOM, parse_kernel  # noqa: E402
from cnnlib.widgets.sliding_window import SlidingWindow, plot_sliding_window  # noqa: E402

SETTINGS = list(itertools.product([1, 4, 6], [1, 2, 3, 5], [0, 1, 2], [1, 3], [1, 2]))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _brute_force_cells(window: SlidingWindow, i: int, j: int) -> set[tuple[int, int]]:
    """Padded-input cells whose value changes output (i, j), found by autograd through F.conv2d."""
    padded = torch.zeros(1, 1, window.padded_size, window.padded_size, requires_grad=True)
    weight = torch.ones(1, 1, window.kernel_size, window.kernel_size)
    out = F.conv2d(padded, weight, stride=window.stride, dilation=window.dilation)
    out[0, 0, i, j].backward()
    return {tuple(map(int, rc)) for rc in torch.nonzero(padded.grad[0, 0])}


@pytest.mark.parametrize("h,k,p,s,d", SETTINGS)
def test_output_size_and_problem_agree_with_torch(h, k, p, s, d):
    window = SlidingWindow(h, k, p, s, d)
    x = torch.zeros(1, 1, h, h)
    try:
        shape = F.conv2d(x, torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d).shape
    except RuntimeError:
        assert window.output_size is None
        assert "exceeds padded input" in window.problem and "no output" in window.problem
        assert "numerator is negative" in window.formula()
        return
    assert window.problem is None
    assert window.output_size == shape[-1]
    assert window.formula().endswith(f"= {shape[-1]}")


@pytest.mark.parametrize("h,k,p,s,d", [c for c in SETTINGS if SlidingWindow(*c).output_size])
def test_highlighted_cells_match_brute_force(h, k, p, s, d):
    window = SlidingWindow(h, k, p, s, d)
    n = window.output_size
    for i, j in {(0, 0), (n - 1, n - 1), (n // 2, 0), (0, n - 1)}:
        assert set(window.input_cells(i, j)) == _brute_force_cells(window, i, j)


def test_input_cells_refuses_cells_outside_the_output():
    with pytest.raises(ValueError, match="outside"):
        SlidingWindow(5, 3).input_cells(3, 0)
    with pytest.raises(ValueError, match="no output"):
        SlidingWindow(4, 7, 1).input_cells(0, 0)


def test_notes_explain_unread_cells_and_same_padding():
    assert any("never read" in note and "stride is larger" in note for note in SlidingWindow(7, 1, 0, 3).notes())
    assert any("'same'" in note for note in SlidingWindow(7, 3, 1).notes())
    assert any("P = D(K-1)/2 = 2" in note for note in SlidingWindow(7, 5, 0).notes())
    assert not any("never read" in note for note in SlidingWindow(6, 3, 0, 3).notes())  # windows tile exactly


def test_widget_builds_explains_invalid_settings_and_recovers():
    widget = sliding_window(input_size=7, kernel_size=3, padding=1, stride=2)
    assert "= 4" in widget.message.value
    assert widget.sliders["out_row"].max == 3 and not widget.sliders["out_row"].disabled
    widget.sliders["out_row"].value = 3
    widget.sliders["input_size"].value = 4
    widget.sliders["kernel_size"].value = 7  # span 7 > padded 6
    assert "kernel span 7 exceeds padded input 6" in widget.message.value
    assert widget.sliders["out_row"].disabled
    widget.sliders["padding"].value = 2  # padded 8: two outputs per row at stride 2
    assert "= 1" in widget.message.value and widget.sliders["out_row"].max == 0
    assert widget.window() == SlidingWindow(4, 7, 2, 2, 1)


@pytest.mark.parametrize("h,k,p,s,d", [(7, 3, 1, 2, 1), (4, 7, 1, 1, 1), (5, 3, 0, 1, 2), (1, 1, 0, 1, 1)])
def test_sliding_window_figure_numbers_the_taps(h, k, p, s, d):
    window = SlidingWindow(h, k, p, s, d)
    fig = plot_sliding_window(window, 0, 0)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    if window.output_size:
        assert [str(t) for t in range(1, k * k + 1)] == [t for t in texts if t not in ("0",)][: k * k]
    else:
        assert "no output" in texts


def test_parse_kernel_reads_rows_and_fractions():
    assert torch.allclose(parse_kernel("1/9 1/9 1/9\n1/9 1/9 1/9\n1/9 1/9 1/9"), torch.full((3, 3), 1 / 9))
    assert torch.equal(parse_kernel("-1, 0, 1; -2, 0, 2; -1, 0, 1"), sobel_x())
    assert parse_kernel("5").shape == (1, 1)


@pytest.mark.parametrize("text,message", [("", "empty"), ("1 2; 3 4", "odd size"), ("1 2 3; 4 5", "square"),
                                           ("1 x 3; 1 2 3; 1 2 3", "number"), ("1/0", "number"),
                                           ("; ".join(["1 " * 9] * 9), "odd size")])
def test_parse_kernel_explains_bad_text(text, message):
    with pytest.raises(ValueError, match=message):
        parse_kernel(text)


def test_kernel_explorer_every_preset_and_bad_text():
    explorer = kernel_explorer(photo="coins", kernel="identity", size=48)
    for name in kernel_names():
        explorer.kernel.value = name
        assert "kernel:" in explorer.message.value
        assert explorer.sigma.disabled == (name != "gaussian")
    explorer.kernel.value = "gaussian"
    explorer.sigma.value = 3.0
    assert torch.allclose(explorer.current_kernel(), gaussian(sigma=3.0)) and "19x19" in explorer.message.value
    explorer.kernel.value = CUSTOM
    explorer.text.value = "1 2\n3"
    assert "Cannot use this kernel" in explorer.message.value and "square" in explorer.message.value
    explorer.text.value = "0 0 0; 0 0 0; 0 0 0"
    assert "scales flat regions by 0" in explorer.message.value or "sends flat regions to 0" in explorer.message.value
    explorer.photo.value = "cat"
    assert "3x3 kernel" in explorer.message.value


@pytest.mark.parametrize("layers", [[(3, 1)] * 3, [(3, 2), (3, 1, 2), (3, 1)], [(5, 1), (2, 2), (3, 1, 3)],
                                    [(1, 1)], [(7, 2), (3, 2), (3, 1)]])
def test_receptive_field_path_matches_autograd_and_arith(layers):
    sizes = layer_sizes(layers, 40)
    path = receptive_field_path(layers, index=sizes[-1] // 2)
    x = torch.zeros(1, 1, 40, requires_grad=True)
    y = x
    for k, s, *d in layers:
        y = F.conv1d(y, torch.ones(1, 1, k), stride=s, dilation=d[0] if d else 1)
    assert y.shape[-1] == sizes[-1]
    y[0, 0, sizes[-1] // 2].backward()
    assert path[0] == torch.nonzero(x.grad[0, 0]).flatten().tolist()
    assert path[0][-1] - path[0][0] + 1 == receptive_field(layers)
    assert len(path) == len(layers) + 1 and path[-1] == [sizes[-1] // 2]


def test_receptive_field_errors_and_figure():
    with pytest.raises(ValueError, match="exceeds"):
        layer_sizes([(5, 1)], 3)
    with pytest.raises(ValueError, match="kernel_size, stride"):
        receptive_field_path([(3, 0)])
    fig = plot_receptive_field([(3, 1)] * 3)
    assert "receptive field 7" in fig.axes[0].get_title()


def test_figures_build():
    x, k = torch.arange(9.0).reshape(3, 3), torch.arange(4.0).reshape(2, 2)
    fig = plot_cross_correlation(x, k, torch.tensor([[19.0, 25.0], [37.0, 43.0]]), (1, 1))
    assert "= 43" in fig._suptitle.get_text()
    image = torch.rand(1, 16, 16)
    fig = plot_kernel_effect(image, sobel_x(), torch.randn(1, 16, 16))
    assert "signed" in fig.axes[-2].get_title() or any("signed" in ax.get_title() for ax in fig.axes)
    fig, ax = plt.subplots()
    draw_grid(ax, torch.eye(3), highlight=torch.eye(3, dtype=torch.bool), blank_zeros=True)
    assert [t.get_text() for t in ax.texts] == ["1", "1", "1"]
