"""Chapter 0's first widget: a photo is just a tensor of numbers."""
from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import torch

from cnnlib.data.images import sample_image, sample_image_names
from cnnlib.widgets._show import show_figure

__all__ = ["photo_browser", "plot_photo_channels"]

_CHANNELS = {"red": 0, "green": 1, "blue": 2}


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
    fig, (ax_img, ax_hist) = plt.subplots(1, 2, figsize=(9, 3.6), gridspec_kw={"width_ratios": [1.2, 1]})
    if channel in _CHANNELS and image.shape[0] == 3:
        shown, cmap, label = image[_CHANNELS[channel]], "gray", f"{channel} channel"
    elif channel == "gray" or image.shape[0] == 1:
        weights = torch.tensor([0.299, 0.587, 0.114])[: image.shape[0]].view(-1, 1, 1)
        shown = (image * weights).sum(0) / weights.sum()
        cmap, label = "gray", "luminance"
    else:
        shown, cmap, label = image.permute(1, 2, 0), None, "RGB"
    ax_img.imshow(shown.numpy(), cmap=cmap, vmin=0, vmax=1)
    ax_img.set_title(f"{name}: {label}, tensor shape {tuple(image.shape)}")
    ax_img.set_xlabel("column (W)")
    ax_img.set_ylabel("row (H)")
    values = shown.reshape(-1) if shown.ndim == 2 else image.reshape(-1)
    ax_hist.hist(values.numpy(), bins=50, color="0.35")
    ax_hist.set_title(f"pixel values: mean {values.mean():.2f}, std {values.std():.2f}")
    ax_hist.set_xlabel("value (0 = black, 1 = white)")
    ax_hist.set_ylabel("number of pixels")
    fig.tight_layout()
    return fig


def photo_browser(name: str = "cat", channel: str = "all") -> W.VBox:
    """A drop-down of the bundled photos and a channel picker, with the figure below.

    Returns:
        The widget; display it as a cell's last expression.
    """
    photo = W.Dropdown(options=sample_image_names(), value=name, description="photo")
    picker = W.ToggleButtons(
        options=["all", *_CHANNELS, "gray"], value=channel, description="channel",
        style={"button_width": "64px"},
    )
    out = W.Output()

    def draw(_=None) -> None:
        show_figure(out, plot_photo_channels(sample_image(photo.value), photo.value, picker.value))

    photo.observe(draw, names="value")
    picker.observe(draw, names="value")
    draw()
    return W.VBox([photo, picker, out])
