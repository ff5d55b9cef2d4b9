"""Figures the chapters share: numbered grids, kernels on photos, receptive fields.

Every function returns a matplotlib figure (or draws on given axes) with a
title, labelled axes and colour maps that read in grayscale and for
colour-blind readers.
"""
from cnnlib.viz.arith import pixel_use, plot_im2col, plot_pixel_use
from cnnlib.viz.bench import plot_conv_ratios
from cnnlib.viz.blur import plot_edge_strength, plot_gaussian_blurs
from cnnlib.viz.channels import plot_conv1x1, plot_multichannel_conv
from cnnlib.viz.depth import moving_average, plot_loss_panels
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
from cnnlib.viz.layout import COLUMN_WIDTH, OKABE_ITO
from cnnlib.viz.tables import Table, layer_table, markdown_table
from cnnlib.viz.flip import plot_flip
from cnnlib.viz.grid import HIGHLIGHT, draw_grid
from cnnlib.viz.learning import plot_learned_kernel
from cnnlib.viz.pooling import (
    log_spectrum,
    plot_activations,
    plot_norm_axes,
    plot_pooled,
    plot_spectra,
    plot_xo_pipeline,
)
from cnnlib.viz.receptive_field import layer_sizes, plot_receptive_field, receptive_field_path
from cnnlib.viz.training import plot_augmentations, plot_histories, plot_softmax

__all__ = [
    "COLUMN_WIDTH",
    "OKABE_ITO",
    "HIGHLIGHT",
    "Table",
    "draw_grid",
    "layer_sizes",
    "log_spectrum",
    "markdown_table",
    "moving_average",
    "pixel_use",
    "layer_table",
    "plot_accuracy_vs_shift",
    "plot_accuracy_vs_train_size",
    "plot_activations",
    "plot_augmentations",
    "plot_conv1x1",
    "plot_conv_ratios",
    "plot_cross_correlation",
    "plot_edge_strength",
    "plot_equivariance",
    "plot_equivariance_curves",
    "plot_filters",
    "plot_flattening",
    "plot_flip",
    "plot_gaussian_blurs",
    "plot_histories",
    "plot_hog",
    "plot_im2col",
    "plot_image_row",
    "plot_kernel_effect",
    "plot_kernel_gallery",
    "plot_learned_kernel",
    "plot_loss_panels",
    "plot_multichannel_conv",
    "plot_norm_axes",
    "plot_pixel_use",
    "plot_pooled",
    "plot_receptive_field",
    "plot_softmax",
    "plot_spectra",
    "plot_xo_pipeline",
    "receptive_field_path",
    "show_image",
]
