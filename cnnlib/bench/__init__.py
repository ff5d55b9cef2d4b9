"""Benchmarks that compare cnnlib's implementations with PyTorch's, side by side.

From a shell::

    python -m cnnlib.bench conv            # the full suites: convolutions, transposed and depthwise layers
    python -m cnnlib.bench conv --small    # the quick ones
    python -m cnnlib.bench conv --kinds transposed,depthwise

From a notebook::

    from cnnlib.bench import SMALL_CONV_SUITE, time_conv_methods, format_conv_table
    rows = time_conv_methods(SMALL_CONV_SUITE)   # about ten seconds
    print(format_conv_table(rows))
"""
from cnnlib.bench.conv import (
    CONV_SUITE,
    LOOPS_SECONDS_PER_POSITION,
    KINDS,
    SMALL_CONV_SUITE,
    SMALL_VARIANT_SUITE,
    VARIANT_SUITE,
    ConvCase,
    ConvTiming,
    conv_table_markdown,
    format_conv_table,
    loops_rounds,
    machine_description,
    matmul_gflops,
    ratio_between,
    summarize,
    time_conv_methods,
)
from cnnlib.bench.timing import Elapsed, interleaved_times, median_ratio, stopwatch

__all__ = [
    "CONV_SUITE",
    "LOOPS_SECONDS_PER_POSITION",
    "KINDS",
    "SMALL_CONV_SUITE",
    "SMALL_VARIANT_SUITE",
    "VARIANT_SUITE",
    "ConvCase",
    "ConvTiming",
    "Elapsed",
    "conv_table_markdown",
    "format_conv_table",
    "interleaved_times",
    "loops_rounds",
    "machine_description",
    "matmul_gflops",
    "median_ratio",
    "ratio_between",
    "stopwatch",
    "summarize",
    "time_conv_methods",
]
