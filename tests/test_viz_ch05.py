"""Chapter 5 figures and the pooling model: sizes, contents and errors."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from cnnlib import ops, viz  # noqa: E402
from cnnlib.models.pool_net import MaxBlurPool2d, pool_cnn  # noqa: E402
from cnnlib.viz.pooling import _norm_cells  # noqa: E402
from cnnlib.widgets.static import min_text_px  # noqa: E402


def _check_width(fig):
    assert fig.get_figwidth() <= 7.2
    assert min_text_px(fig) >= 9
    plt.close(fig)


def test_plot_pooled_shows_both_sizes():
    m = torch.rand(16, 16)
    fig = viz.plot_pooled(m, ops.max_pool2d(m[None], 4)[0], "max")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["feature map: 16x16", "pooled: 4x4"]
    _check_width(fig)


def test_xo_pipeline_writes_the_pooled_numbers():
    image = torch.eye(6)
    filters = torch.stack([torch.eye(3) * 2 - 1, torch.ones(3, 3)])
    maps = ops.conv2d(image[None, None], filters[:, None])[0]
    pooled = ops.max_pool2d(maps.clamp(min=0), 2)
    fig = viz.plot_xo_pipeline(image, filters, maps, pooled)
    texts = {t.get_text() for t in fig.axes[3].texts}
    assert {f"{v:g}" for v in pooled[0].flatten().tolist()} <= texts
    _check_width(fig)
    with pytest.raises(ValueError, match="2 filters"):
        viz.plot_xo_pipeline(image, filters, maps[:1], pooled)


def test_log_spectrum_peaks_at_the_stripe_frequency():
    cols = torch.arange(32.0)
    stripes = torch.cos(2 * np.pi * cols / 8).expand(32, 32)  # 1/8 cycle per pixel along columns
    spec = viz.log_spectrum(stripes)
    r, c = np.unravel_index(np.argmax(spec), spec.shape)
    assert r == 16 and abs(c - 16) == 4  # centred: frequency +-1/8 is 4 bins from the centre


def test_plot_spectra_layout_and_errors():
    fig = viz.plot_spectra([torch.rand(20, 20), torch.rand(10, 10)], ["a", "b"])
    assert len(fig.axes) == 4
    _check_width(fig)
    with pytest.raises(ValueError, match="title"):
        viz.plot_spectra([torch.rand(4, 4)], ["a", "b"])


@pytest.mark.parametrize("kind,n_cells", [("batch", 4), ("layer", 6), ("group", 2), ("instance", 1)])
def test_norm_axes_shade_the_right_cells(kind, n_cells):
    assert _norm_cells(kind, 4, 6, 3).sum() == n_cells


def test_norm_axes_figure_and_errors():
    _check_width(viz.plot_norm_axes())
    with pytest.raises(ValueError, match="divide"):
        viz.plot_norm_axes(groups=4)
    with pytest.raises(ValueError, match="unknown kind"):
        viz.plot_norm_axes(["weight"])


def test_plot_activations_draws_autograd_derivatives():
    fig = viz.plot_activations({"ReLU": ops.relu, "sigmoid": ops.sigmoid})
    _, right = fig.axes
    x, slope = right.lines[1].get_data()[0], right.lines[1].get_data()[1]
    s = torch.sigmoid(torch.as_tensor(x))
    np.testing.assert_allclose(slope, (s * (1 - s)).numpy(), atol=1e-6)
    _check_width(fig)
    with pytest.raises(ValueError, match="functions"):
        viz.plot_activations({})


@pytest.mark.parametrize("shape", [(2, 3, 16, 16), (1, 2, 9, 12)])
def test_max_blur_pool_layer_matches_ops(shape):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(MaxBlurPool2d()(x), ops.max_blur_pool2d(x))
    torch.testing.assert_close(MaxBlurPool2d(1)(x), ops.max_pool2d(x, 2, stride=1)[..., ::2, ::2])


@pytest.mark.parametrize("batch_norm", [False, True])
def test_pool_cnn_variants_have_equal_parameters_and_shapes(batch_norm):
    a, b = pool_cnn("max", batch_norm=batch_norm), pool_cnn("blur", batch_norm=batch_norm)
    assert sum(p.numel() for p in a.parameters()) == sum(p.numel() for p in b.parameters())
    x = torch.randn(3, 1, 16, 16)
    assert a(x).shape == b(x).shape == (3, 10)
    with pytest.raises(ValueError, match="pool="):
        pool_cnn("median")
    with pytest.raises(ValueError, match="multiple of 4"):
        pool_cnn(input_size=10)
