"""Command line: ``python -m cnnlib.bench conv [--small] [--kinds K,...] [--rounds N] [--threads T]``."""
from __future__ import annotations

import argparse
import sys
import time

import torch

from cnnlib.bench.conv import (
    CONV_SUITE,
    KINDS,
    SMALL_CONV_SUITE,
    SMALL_VARIANT_SUITE,
    VARIANT_SUITE,
    format_conv_table,
    machine_description,
    matmul_gflops,
    time_conv_methods,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnlib.bench", description="Benchmarks of cnnlib's operations.")
    sub = parser.add_subparsers(dest="benchmark", required=True)
    conv = sub.add_parser("conv", help="conv2d, conv_transpose2d and depthwise conv2d (methods loops, im2col, fft, winograd) "
                                       "against their torch.nn.functional twins")
    conv.add_argument("--small", action="store_true", help="the quick notebook suites instead of the full ones")
    conv.add_argument("--kinds", default=",".join(KINDS),
                      help=f"comma-separated kinds of layer (default all: {','.join(KINDS)})")
    conv.add_argument("--rounds", type=int, default=7, help="interleaved rounds per case (default 7)")
    conv.add_argument("--methods", default="im2col,fft,loops,winograd",
                      help="comma-separated methods (default all four; winograd times only 3x3 stride-1 layers)")
    conv.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    conv.add_argument("--loops-budget", type=float, default=3.0, help="seconds allowed to the loops method per case")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        parser.error(f"--kinds {args.kinds!r}: choose among {', '.join(KINDS)}")

    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"machine: {machine_description()}")
    start = time.perf_counter()
    ceiling = matmul_gflops()
    print(f"matmul ceiling: {ceiling:.1f} GFLOP/s (float32)\n", flush=True)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    suite = (SMALL_CONV_SUITE + SMALL_VARIANT_SUITE) if args.small else (CONV_SUITE + VARIANT_SUITE)
    rows = time_conv_methods(
        [case for case in suite if case.kind in kinds],
        methods=methods,
        rounds=args.rounds,
        loops_budget_s=args.loops_budget,
    )
    print(format_conv_table(rows, ceiling))
    print(f"\n(total {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
