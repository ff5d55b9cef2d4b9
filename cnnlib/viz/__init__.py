"""Figures the chapters share: numbered grids, kernels on photos, receptive fields.

Every function returns a matplotlib figure (or draws on given axes) with a
title, labelled axes and colour maps that read in grayscale and for
colour-blind readers.
"""
from cnnlib.viz.bench import plot_conv_ratios
from cnnlib.viz.conv import plot_cross_correlation, plot_kernel_effect, plot_kernel_gallery, show_image
from cnnlib.viz.equivariance import plot_equivariance, plot_equivariance_curves
from cnnlib.viz.features import (
    plot_accuracy_vs_shift,
    plot_accuracy_vs_train_size,
    plot_filters,
    plot_flattening,
    plot_hog,
    plot_image_row,
)
from cnnlib.viz.layout import COLUMN_WIDTH
from cnnlib.viz.tables import Table, layer_table
from cnnlib.viz.grid import HIGHLIGHT, draw_grid
from cnnlib.viz.receptive_field import layer_sizes, plot_receptive_field, receptive_field_path
from cnnlib.viz.training import plot_augmentations, plot_histories, plot_softmax

__all__ = [
    "COLUMN_WIDTH",
    "HIGHLIGHT",
    "Table",
    "draw_grid",
    "layer_sizes",
    "layer_table",
    "plot_accuracy_vs_shift",
    "plot_accuracy_vs_train_size",
    "plot_augmentations",
    "plot_conv_ratios",
    "plot_cross_correlation",
    "plot_equivariance",
    "plot_equivariance_curves",
    "plot_filters",
    "plot_flattening",
    "plot_histories",
    "plot_hog",
    "plot_image_row",
    "plot_kernel_effect",
    "plot_kernel_gallery",
    "plot_receptive_field",
    "plot_softmax",
    "receptive_field_path",
    "show_image",
]
