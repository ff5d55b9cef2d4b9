"""cnnlib.viz.transfer: the projection and regime figures draw what they are given."""
import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest
import torch

from cnnlib.transfer import RegimeResult
from cnnlib.viz.layout import COLUMN_WIDTH
from cnnlib.viz.transfer import plot_projections, plot_regimes


def test_projection_panels_hold_every_point_by_class():
    labels = torch.tensor([0, 1, 1, 2, 2, 2])
    xy = torch.arange(12.0).reshape(6, 2)
    fig = plot_projections({"pixels": xy, "features": -xy}, labels, ["a", "b", "c"], title="t")
    assert fig.get_size_inches()[0] <= COLUMN_WIDTH + 1e-9
    ax = fig.axes[0]
    counts = [len(c.get_offsets()) for c in ax.collections]
    assert counts == [1, 2, 3]
    np.testing.assert_allclose(ax.collections[2].get_offsets(), xy[3:].numpy())
    assert ax.get_title() == "pixels" and ax.get_xlabel()
    with pytest.raises(ValueError, match="expected"):
        plot_projections({"bad": torch.zeros(5, 2)}, labels, ["a", "b", "c"])
    with pytest.raises(ValueError, match="1 to 3 panels"):
        plot_projections({str(i): xy for i in range(4)}, labels, ["a", "b", "c"])


def test_regime_lines_follow_the_results():
    runs = [RegimeResult(r, n, acc, 1.0, 1) for r, base in (("frozen", 0.5), ("scratch", 0.1))
            for n, acc in ((10, base), (40, base + 0.1), (160, base + 0.2))]
    fig = plot_regimes({"textures": runs, "clothes": runs})
    assert len(fig.axes) == 2
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["frozen", "scratch"]
    np.testing.assert_allclose(lines[1].get_ydata(), [10, 20, 30])
    np.testing.assert_allclose(lines[0].get_xdata(), [10, 40, 160])
    assert fig.axes[0].get_ylabel() == "test accuracy (%)"
