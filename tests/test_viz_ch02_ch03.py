"""Figures of chapters 2 and 3: they fit the book's column, their text stays
readable, and the numbers they draw agree with torch.nn.functional."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from cnnlib import kernels, viz  # noqa: E402

COLUMN_IN = 7.2  # the text column at 100 dpi, in inches
MIN_PT = 7.0  # 7 pt at 100 dpi is 9.7 px on the page


def _texts(fig):
    return [t for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip() and t.get_visible()]


def _fits(fig):
    fig.canvas.draw()
    width = fig.get_tightbbox().width / 72  # tight box in inches, as the notebook saves it
    assert fig.get_size_inches()[0] <= COLUMN_IN and width <= COLUMN_IN + 0.1, width
    small = [(t.get_text(), t.get_fontsize()) for t in _texts(fig) if t.get_fontsize() < MIN_PT]
    assert not small, f"text below {MIN_PT} pt: {small[:5]}"
    return width


def _grid_numbers(ax) -> list[float]:
    return [float(t.get_text()) for t in ax.texts]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_multichannel_figure_adds_the_channels_like_conv2d():
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 9, (3, 4, 5), generator=gen).float()
    k = torch.randint(-2, 3, (3, 2, 3), generator=gen).float()
    fig = viz.plot_multichannel_conv(x, k, position=(1, 2))
    _fits(fig)
    expected = F.conv2d(x[None], k[None])[0, 0]
    out_ax = [ax for ax in fig.axes if ax.get_title() == "output = sum"]
    assert len(out_ax) == 1
    assert _grid_numbers(out_ax[0]) == expected.flatten().tolist()
    per_channel = [F.conv2d(x[None, c:c + 1], k[None, c:c + 1])[0, 0] for c in range(3)]
    assert f"= {int(expected[1, 2])}" in fig._suptitle.get_text()
    assert " + ".join(str(int(p[1, 2])) for p in per_channel) in fig._suptitle.get_text()


def test_multichannel_figure_refuses_bad_shapes():
    with pytest.raises(ValueError, match="same C_in"):
        viz.plot_multichannel_conv(torch.zeros(2, 3, 3), torch.zeros(3, 2, 2))
    with pytest.raises(ValueError, match="1 to 4"):
        viz.plot_multichannel_conv(torch.zeros(5, 3, 3), torch.zeros(5, 2, 2))
    with pytest.raises(ValueError, match="outside"):
        viz.plot_multichannel_conv(torch.zeros(2, 3, 3), torch.zeros(2, 2, 2), position=(2, 0))


def test_conv1x1_figure_is_a_1x1_conv2d():
    gen = torch.Generator().manual_seed(1)
    x = torch.randint(0, 10, (3, 3, 4), generator=gen).float()
    w = torch.randint(-3, 4, (2, 3), generator=gen).float()
    fig = viz.plot_conv1x1(x, w, position=(2, 1))
    _fits(fig)
    expected = F.conv2d(x[None], w[:, :, None, None])[0]
    outputs = [ax for ax in fig.axes if ax.get_ylabel().startswith("out ")]
    assert [_grid_numbers(ax) for ax in outputs] == [expected[o].flatten().tolist() for o in range(2)]
    assert f"({int(expected[0, 2, 1])}, {int(expected[1, 2, 1])})" in fig._suptitle.get_text()
    same = viz.plot_conv1x1(x, w[:, :, None, None], position=(2, 1))  # a conv weight works too
    assert same._suptitle.get_text() == fig._suptitle.get_text()
    with pytest.raises(ValueError, match="weight"):
        viz.plot_conv1x1(x, torch.zeros(2, 4))
    with pytest.raises(ValueError, match="outside"):
        viz.plot_conv1x1(x, w, position=(3, 0))


def test_cross_correlation_draws_gray_dark_to_light_at_column_width():
    patch = torch.arange(64.0).reshape(8, 8)
    weights = torch.full((3, 3), 1 / 9)
    out = F.conv2d(patch[None, None], weights[None, None])[0, 0]
    fig = viz.plot_cross_correlation(patch, weights, out, fmt="{:.3g}")
    _fits(fig)
    image = fig.axes[0].images[0]
    assert image.get_cmap().name == "gray"
    dark, light = image.to_rgba(image.get_array())[0, 0], image.to_rgba(image.get_array())[-1, -1]
    assert dark[:3].sum() < light[:3].sum()  # the small value is drawn darker, as in chapter 0
    assert "\n" in fig._suptitle.get_text()  # the nine-term sum wraps instead of widening the figure


def test_gallery_and_kernel_effect_fit_the_column():
    cat = torch.rand(1, 40, 50, generator=torch.Generator().manual_seed(0))
    outputs = {name: kernels.apply_kernel(cat, kernels.get_kernel(name)) for name in kernels.kernel_names()[:8]}
    fig = viz.plot_kernel_gallery(outputs)
    _fits(fig)
    assert sum(1 for ax in fig.axes if ax.get_visible() and ax.images) == 8
    with pytest.raises(ValueError, match="1 to 4 panels"):
        viz.plot_kernel_gallery(outputs, columns=8)
    _fits(viz.plot_kernel_effect(cat, kernels.sobel_x(), outputs["sobel_x"]))


def test_flip_learned_kernel_and_blur_figures_fit_the_column():
    impulse = torch.zeros(5, 5)
    impulse[2, 2] = 1
    w = torch.arange(1.0, 10.0).reshape(3, 3)
    padded = F.pad(impulse, (1, 1, 1, 1))
    corr = F.conv2d(padded[None, None], w[None, None])[0, 0]
    conv = F.conv2d(padded[None, None], w.flip(0, 1)[None, None])[0, 0]
    fig = viz.plot_flip(impulse, w, corr, conv)
    _fits(fig)
    assert _grid_numbers(fig.axes[3])[:3] == [1.0, 2.0, 3.0]  # convolution stamps w as it is
    with pytest.raises(ValueError, match="2-D"):
        viz.plot_flip(impulse[None], w, corr, conv)
    photo = torch.randn(1, 1, 12, 14, generator=torch.Generator().manual_seed(0))
    target = F.conv2d(photo, kernels.sobel_x()[None, None])
    fig = viz.plot_learned_kernel(photo[0], target[0], [1.0, 0.1, 0.01], kernels.sobel_x() + 0.004,
                                  kernels.sobel_x())
    _fits(fig)
    learned_ax = [ax for ax in fig.axes if ax.get_title() == "learned kernel"][0]
    assert _grid_numbers(learned_ax) == [round(v + 0.004, 2) for v in kernels.sobel_x().flatten().tolist()]
    with pytest.raises(ValueError, match="at least one step"):
        viz.plot_learned_kernel(photo[0], target[0], [], kernels.sobel_x(), kernels.sobel_x())
    image = torch.rand(1, 30, 40, generator=torch.Generator().manual_seed(2))
    _fits(viz.plot_gaussian_blurs(image, sigmas=[0.5, 1.0, 2.0]))
    with pytest.raises(ValueError, match="1 to 4 sigmas"):
        viz.plot_gaussian_blurs(image, sigmas=[1.0] * 5)
    fig = viz.plot_edge_strength(image)
    _fits(fig)
    assert fig.axes[0].images[0].get_cmap().name == "gray"


@pytest.mark.parametrize("size, k, padding", [(8, 3, 0), (8, 3, 1), (7, 5, 2), (6, 1, 0)])
def test_pixel_use_counts_windows_like_fold_unfold(size, k, padding):
    ones = torch.ones(1, 1, size, size)
    reference = F.fold(F.unfold(ones, k, padding=padding), (size, size), k, padding=padding)[0, 0]
    assert torch.equal(viz.pixel_use(size, k, padding), reference)


def test_pixel_use_and_im2col_figures():
    fig = viz.plot_pixel_use(8, 3, [0, 1])
    _fits(fig)
    assert [ax.get_title() for ax in fig.axes] == ["P = 0: output 6x6", "P = 1: output 8x8"]
    with pytest.raises(ValueError, match="one or two paddings"):
        viz.plot_pixel_use(8, 3, [0, 1, 2])
    x = torch.arange(1.0, 17.0).reshape(4, 4)
    w = torch.arange(1.0, 10.0).reshape(3, 3)
    fig = viz.plot_im2col(x, w, window=1)
    _fits(fig)
    assert _grid_numbers(fig.axes[2]) == F.unfold(x[None, None], 3)[0].flatten().tolist()
    with pytest.raises(ValueError, match="outside"):
        viz.plot_im2col(x, w, window=4)


def test_conv_ratio_figure_fits_the_column():
    from cnnlib.bench import SMALL_CONV_SUITE, ConvTiming

    rows = [ConvTiming(c, m, 1e-3, r, 1.0, 3, "") for c in SMALL_CONV_SUITE
            for m, r in (("im2col", 1.5), ("fft", 4.0), ("loops", 300.0))]
    assert _fits(viz.plot_conv_ratios(rows)) <= COLUMN_IN + 0.1


def test_receptive_field_figure_fits_the_column():
    assert _fits(viz.plot_receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)], title="dilations")) <= COLUMN_IN + 0.1


def test_markdown_table():
    table = viz.markdown_table(["name", "count", "ratio"], [("a|b", 1234, 0.5), ("c", 5, 2.25)],
                               formats=[None, "{:,d}", "{:.1f}"])
    assert table.data.splitlines() == [
        "| name | count | ratio |",
        "|:--|--:|--:|",
        "| a\\|b | 1,234 | 0.5 |",
        "| c | 5 | 2.2 |",
    ]
    assert viz.markdown_table(["x"], [["y"]], align="c").data.splitlines()[1] == "|:-:|"
    with pytest.raises(ValueError, match="row 0 has 1 values"):
        viz.markdown_table(["a", "b"], [["only one"]])
    with pytest.raises(ValueError, match="align"):
        viz.markdown_table(["a"], [["x"]], align="q")
    with pytest.raises(ValueError, match="formats"):
        viz.markdown_table(["a"], [["x"]], formats=[None, None])
