"""Chapter 9's widget: pick a photo, one of its two top classes and a method; see the map."""
from __future__ import annotations

from typing import Callable, Mapping

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
import torch

from cnnlib.explain.plots import WIDTH_IN, gradient_image, heat

__all__ = ["METHODS", "explain_explorer"]

#: Method label -> how its map is drawn: "heat" over the photo, or "gradient" (a signed image).
METHODS = {"Grad-CAM": "heat", "CAM": "heat", "occlusion": "heat", "saliency": "heat",
           "guided backprop": "gradient", "guided Grad-CAM": "gradient"}


def explain_explorer(photos: Mapping[str, np.ndarray], class_names: Mapping[str, tuple[str, str]],
                     compute: Callable[[str, int, str], torch.Tensor], *, methods: tuple[str, ...] = tuple(METHODS)):
    """A widget over photo x class rank (1st or 2nd most likely) x method.

    Args:
        photos: name -> ``(H, W, 3)`` display image in ``[0, 1]``.
        class_names: name -> the names of its two most likely classes.
        compute: ``(photo, rank, method) -> map`` (``(h, w)`` for heat maps,
            ``(3, H, W)`` for gradients); called once per view (cache it).
        methods: the method labels offered (keys of :data:`METHODS`).

    Returns:
        On the static book (``CNNLIB_STATIC_WIDGETS=1``) a precomputed widget over
        every combination; in a running kernel a live ``interactive`` widget.
    """
    from cnnlib.widgets.static import precomputed, static_mode

    def render(photo: str, rank: int, method: str):
        fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, WIDTH_IN / 2 + 0.35), layout="constrained")
        heat(axes[0], photos[photo], None, title=f"{photo} (photo)")
        m = compute(photo, rank, method)
        label = f"{method}: '{class_names[photo][rank]}'"
        if METHODS[method] == "heat":
            heat(axes[1], photos[photo], m, title=label)
        else:
            axes[1].imshow(gradient_image(m))
            axes[1].set_title(label, fontsize=10)
            axes[1].set_xticks([])
            axes[1].set_yticks([])
        return fig

    controls = {
        "photo": W.Dropdown(options=list(photos), description="photo"),
        "rank": W.ToggleButtons(options=[("1st class", 0), ("2nd class", 1)], description="class"),
        "method": W.Dropdown(options=list(methods), description="method"),
    }
    if static_mode():
        return precomputed(render, controls, image_format="jpeg", max_frames=len(photos) * 2 * len(methods),
                           note="On the book these views were computed when the page was built; run the notebook to explain other photos.")

    def live(photo, rank, method):
        fig = render(photo, rank, method)
        plt.show()
        plt.close(fig)

    return W.interactive(live, **controls)
