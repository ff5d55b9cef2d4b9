"""Figures the chapters share: numbered grids, kernels on photos, receptive fields.

Every function returns a matplotlib figure (or draws on given axes) with a
title, labelled axes and colour maps that read in grayscale and for
colour-blind readers.
"""
from cnnlib.viz.conv import plot_cross_correlation, plot_kernel_effect, plot_kernel_gallery, show_image
from cnnlib.viz.grid import HIGHLIGHT, draw_grid
from cnnlib.viz.receptive_field import layer_sizes, plot_receptive_field, receptive_field_path

__all__ = [
    "HIGHLIGHT",
    "draw_grid",
    "layer_sizes",
    "plot_cross_correlation",
    "plot_kernel_effect",
    "plot_kernel_gallery",
    "plot_receptive_field",
    "receptive_field_path",
    "show_image",
]
