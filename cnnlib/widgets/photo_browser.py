"""Chapter 0's first widget: a photo is just a tensor of numbers.

In a running kernel every bundled photo and channel is drawn on demand; for the
book (``CNNLIB_STATIC_WIDGETS=1``, see :mod:`cnnlib.widgets.static`) the
photos in :data:`STATIC_PHOTOS` and every channel are drawn in advance.
"""
from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import torch

from cnnlib.data.images import sample_image, sample_image_names
from cnnlib.widgets._show import show_figure
from cnnlib.widgets.static import precomputed, static_mode

__all__ = ["STATIC_PHOTOS", "photo_browser", "plot_photo_channels"]

_CHANNELS = {"red": 0, "green": 1, "blue": 2}
CHANNEL_VIEWS = ["all", *_CHANNELS, "gray"]
STATIC_PHOTOS = ["cat", "camera", "astronaut", "coffee", "flower"]  # the book's page: 5 photos x 5 views


def plot_photo_channels(image: torch.Tensor, name: str = "", channel: str = "all") -> plt.Figure:
    """Show a ``(C, H, W)`` image (or one channel) beside the histogram of its values.

    Args:
        image: ``(1, H, W)`` or ``(3, H, W)`` float tensor in ``[0, 1]``.
        name: a title for the figure.
        channel: ``"all"``, ``"red"``, ``"green"``, ``"blue"`` or ``"gray"``.

    Returns:
        The matplotlib figure (two panels).
    """
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"plot_photo_channels: expected a (1, H, W) or (3, H, W) tensor, got shape {tuple(image.shape)}.")
    fig, (ax_img, ax_hist) = plt.subplots(1, 2, figsize=(6.9, 3.2), gridspec_kw={"width_ratios": [1.1, 1]})
    if channel in _CHANNELS and image.shape[0] == 3:
        shown, cmap, label = image[_CHANNELS[channel]], "gray", f"{channel} channel"
    elif channel == "gray" or image.shape[0] == 1:
        weights = torch.tensor([0.299, 0.587, 0.114])[: image.shape[0]].view(-1, 1, 1)
        shown = (image * weights).sum(0) / weights.sum()
        cmap, label = "gray", "luminance"
    else:
        shown, cmap, label = image.permute(1, 2, 0), None, "RGB"
    ax_img.imshow(shown.numpy(), cmap=cmap, vmin=0, vmax=1)
    ax_img.set_title(f"{name}: {label}\ntensor shape {tuple(image.shape)}")
    ax_img.set_xlabel("column (W)")
    ax_img.set_ylabel("row (H)")
    values = shown.reshape(-1) if shown.ndim == 2 else image.reshape(-1)
    ax_hist.hist(values.numpy(), bins=50, color="0.35")
    ax_hist.set_title(f"pixel values\nmean {values.mean():.2f}, std {values.std():.2f}")
    ax_hist.set_xlabel("value (0 = black, 1 = white)")
    ax_hist.set_ylabel("number of pixels")
    fig.tight_layout()
    return fig


def photo_browser(name: str = "cat", channel: str = "all") -> W.VBox:
    """A drop-down of the bundled photos and a channel picker, with the figure below.

    Args:
        name: the photo shown first (a :func:`cnnlib.data.sample_image_names` name).
        channel: the view shown first: ``"all"``, ``"red"``, ``"green"``, ``"blue"`` or ``"gray"``.

    Returns:
        The widget; display it as a cell's last expression. For the book it is a
        :class:`~cnnlib.widgets.static.PrecomputedWidget` over :data:`STATIC_PHOTOS`.
    """
    style = {"button_width": "58px"}
    if static_mode():
        photos = STATIC_PHOTOS if name in STATIC_PHOTOS else [name, *STATIC_PHOTOS]
        controls = {"photo": W.Dropdown(options=photos, value=name, description="photo"),
                    "channel": W.ToggleButtons(options=CHANNEL_VIEWS, value=channel, description="channel", style=style,
                                               layout=W.Layout(width="100%"))}  # a row of its own
        return precomputed(lambda photo, channel: plot_photo_channels(sample_image(photo), photo, channel), controls,
                           image_format="jpeg", note=f"On this page: {len(photos)} of the {len(sample_image_names())} "
                           "photos. Run the notebook to browse them all.")
    photo = W.Dropdown(options=sample_image_names(), value=name, description="photo")
    picker = W.ToggleButtons(options=CHANNEL_VIEWS, value=channel, description="channel", style=style)
    out = W.Output()

    def draw(_=None) -> None:
        show_figure(out, plot_photo_channels(sample_image(photo.value), photo.value, picker.value))

    photo.observe(draw, names="value")
    picker.observe(draw, names="value")
    draw()
    return W.VBox([photo, picker, out])
