"""Chapter 9's figures and widget: column width, readable text, one frame per view."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from cnnlib.explain import plots  # noqa: E402
from cnnlib.widgets.static import min_text_px  # noqa: E402


def test_to_display_inverts_the_normalisation():
    image = torch.rand(3, 8, 8)
    mean, std = torch.tensor(plots.IMAGENET_MEAN).view(3, 1, 1), torch.tensor(plots.IMAGENET_STD).view(3, 1, 1)
    np.testing.assert_allclose(plots.to_display((image - mean) / std), image.permute(1, 2, 0).numpy(), atol=1e-6)


def test_gradient_image_maps_zero_to_mid_gray():
    g = torch.zeros(3, 4, 4)
    g[0, 0, 0] = 1.0
    out = plots.gradient_image(g)
    assert out.shape == (4, 4, 3) and out[1, 1, 1] == 0.5 and out[0, 0, 0] > 0.5


def test_map_grid_fits_the_column_with_readable_text():
    photo = np.random.default_rng(0).random((32, 32, 3))
    panels = [(photo, torch.rand(4, 4), f"panel {i}") for i in range(6)]
    fig = plots.map_grid(panels, ncols=4, suptitle="title")
    assert fig.get_figwidth() <= 7.2 and len([a for a in fig.axes if a.get_visible() and a.images]) == 6
    assert min_text_px(fig) >= 9
    plt.close(fig)


def test_explorer_precomputes_every_view(monkeypatch):
    from cnnlib.explain.widget import explain_explorer

    monkeypatch.setenv("CNNLIB_STATIC_WIDGETS", "1")
    calls = []

    def compute(photo, rank, method):
        calls.append((photo, rank, method))
        return torch.rand(4, 4) if method == "Grad-CAM" else torch.randn(3, 16, 16)

    photos = {"a": np.zeros((16, 16, 3)), "b": np.ones((16, 16, 3)) * 0.5}
    w = explain_explorer(photos, {"a": ("x", "y"), "b": ("z", "w")}, compute, methods=("Grad-CAM", "guided backprop"))
    assert len(set(calls)) == 8 and w is not None
