"""Benchmark: the from-scratch convolutions against their ``torch.nn.functional`` twins.

Each case is a real layer shape of one of three kinds:

* ``"conv"``: :func:`cnnlib.ops.conv2d` against ``F.conv2d``;
* ``"transposed"``: :func:`cnnlib.ops.conv_transpose2d` (a convolution of
  the zero-inserted input) against ``F.conv_transpose2d``;
* ``"depthwise"``: :func:`cnnlib.ops.conv2d` with ``groups = C_in``
  against ``F.conv2d`` with the same groups.

For every case the methods (the convolution underneath: loops, im2col,
FFT) and the twin run interleaved (see :mod:`cnnlib.bench.timing`); a
method's *ratio* is the median over rounds of its time divided by the
twin's time in the same round (1.0 = as fast, 2.0 = twice as slow).
GFLOP/s counts ``2 * multiply-adds`` of the layer
(:func:`cnnlib.arith.conv_macs`, :func:`cnnlib.arith.conv_transpose_macs`),
the same work for every method (the FFT method does different arithmetic,
and the transposed route multiplies many inserted zeros: its GFLOP/s is
"equivalent direct GFLOP/s"). A large matrix product's GFLOP/s is measured
alongside as the ceiling: the most a GEMM-based method can hope for on
this machine.

Run it from a shell::

    python -m cnnlib.bench conv
"""
from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass
from typing import Iterable, Sequence

import torch
import torch.nn.functional as F

from cnnlib.arith import conv_macs, conv_output_size, conv_transpose_macs, conv_transpose_output_size
from cnnlib.bench.timing import interleaved_times, median_ratio
from cnnlib.ops import clear_workspace, conv2d, conv_transpose2d

__all__ = [
    "CONV_SUITE",
    "LOOPS_SECONDS_PER_POSITION",
    "SMALL_CONV_SUITE",
    "SMALL_VARIANT_SUITE",
    "VARIANT_SUITE",
    "ConvCase",
    "ConvTiming",
    "conv_table_markdown",
    "KINDS",
    "covers",
    "format_conv_table",
    "loops_rounds",
    "machine_description",
    "matmul_gflops",
    "ratio_between",
    "summarize",
    "time_conv_methods",
]

REFERENCE = "torch"  # the name the twin's rows carry

#: The kinds of layer, and the twin each is timed against.
KINDS: dict[str, str] = {
    "conv": "F.conv2d",
    "transposed": "F.conv_transpose2d",
    "depthwise": "F.conv2d(groups=C_in)",
}

#: A deliberately pessimistic guess at the loops method's cost per output
#: position (one Python iteration and one small product), used to decide how
#: many rounds it joins *before* anything is timed.
LOOPS_SECONDS_PER_POSITION = 3e-4


@dataclass(frozen=True)
class ConvCase:
    """One layer shape to time.

    Attributes:
        name: short label, e.g. ``"ResNet-18 stage 1"``.
        batch: images per call.
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        size: input height and width.
        kernel_size: square kernel side ``K``.
        stride: ``S``.
        padding: ``P``.
        kind: ``"conv"``, ``"transposed"`` or ``"depthwise"`` (see :data:`KINDS`).
        output_padding: a transposed layer's ``output_padding``.
    """

    name: str
    batch: int
    in_channels: int
    out_channels: int
    size: int
    kernel_size: int
    stride: int = 1
    padding: int = 0
    kind: str = "conv"
    output_padding: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"ConvCase {self.name!r}: kind={self.kind!r}; use one of {', '.join(KINDS)}.")
        if self.kind == "depthwise" and self.out_channels % self.in_channels:
            raise ValueError(f"ConvCase {self.name!r}: a depthwise layer needs C_out a multiple of C_in.")

    @property
    def groups(self) -> int:
        """``C_in`` for a depthwise layer, else 1."""
        return self.in_channels if self.kind == "depthwise" else 1

    @property
    def output_size(self) -> int:
        """Output height (= width)."""
        if self.kind == "transposed":
            return conv_transpose_output_size(self.size, self.kernel_size, self.stride, self.padding,
                                              self.output_padding)
        return conv_output_size(self.size, self.kernel_size, self.stride, self.padding)

    @property
    def flops(self) -> int:
        """``2 * multiply-adds`` of the whole batch."""
        if self.kind == "transposed":
            macs = conv_transpose_macs(self.in_channels, self.out_channels, self.kernel_size, self.size)
        else:
            macs = conv_macs(self.in_channels, self.out_channels, self.kernel_size, self.output_size, self.groups)
        return 2 * self.batch * macs

    @property
    def shape(self) -> str:
        """Human-readable ``N x C x H x W -> C_out x H_out x W_out, KxK/S`` (``T``: transposed, ``dw``: depthwise)."""
        mark = {"conv": "", "transposed": " T", "depthwise": " dw"}[self.kind]
        return (
            f"{self.batch}x{self.in_channels}x{self.size}x{self.size} -> "
            f"{self.out_channels}x{self.output_size}x{self.output_size}, "
            f"{self.kernel_size}x{self.kernel_size}/{self.stride}{mark}"
        )

    def tensors(self, dtype: torch.dtype = torch.float32, seed: int = 0):
        """Random input, weight and bias of this layer's shapes."""
        gen = torch.Generator().manual_seed(seed)
        x = torch.randn(self.batch, self.in_channels, self.size, self.size, generator=gen, dtype=dtype)
        if self.kind == "transposed":
            w_shape = (self.in_channels, self.out_channels)
        else:
            w_shape = (self.out_channels, self.in_channels // self.groups)
        w = torch.randn(w_shape + (self.kernel_size, self.kernel_size), generator=gen, dtype=dtype)
        b = torch.randn(self.out_channels, generator=gen, dtype=dtype)
        return x, w, b

    def functions(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor):
        """``(twin, ours)``: the twin as a function of nothing, ours as a function of the method."""
        if self.kind == "transposed":
            kw = {"stride": self.stride, "padding": self.padding, "output_padding": self.output_padding}
            return (lambda: F.conv_transpose2d(x, w, b, **kw),
                    lambda m: conv_transpose2d(x, w, b, method=m, **kw))
        kw = {"stride": self.stride, "padding": self.padding, "groups": self.groups}
        return lambda: F.conv2d(x, w, b, **kw), lambda m: conv2d(x, w, b, method=m, **kw)


#: The fixed suite behind ``python -m cnnlib.bench conv``.
CONV_SUITE: tuple[ConvCase, ...] = (
    ConvCase("LeNet-5 conv1", 64, 1, 6, 32, 5),
    ConvCase("LeNet-5 conv2", 64, 6, 16, 14, 5),
    ConvCase("CIFAR 3x3", 32, 32, 32, 32, 3, 1, 1),
    ConvCase("ResNet-18 stage 1", 8, 64, 64, 56, 3, 1, 1),
    ConvCase("ResNet-18 stage 2", 8, 128, 128, 28, 3, 1, 1),
    ConvCase("ResNet-18 stage 3", 8, 256, 256, 14, 3, 1, 1),
    ConvCase("ResNet-18 stage 4", 8, 512, 512, 7, 3, 1, 1),
    ConvCase("ResNet-18 down 3x3/2", 8, 64, 128, 56, 3, 2, 1),
    ConvCase("ResNet-18 down 1x1/2", 8, 64, 128, 56, 1, 2, 0),
    ConvCase("AlexNet 11x11 stem", 8, 3, 64, 224, 11, 4, 2),
    ConvCase("ResNet 7x7 stem", 8, 3, 64, 224, 7, 2, 3),
    ConvCase("Large kernel 31x31", 2, 16, 16, 32, 31, 1, 15),
)

#: Transposed and depthwise layers, timed against their twins in the same run
#: (``python -m cnnlib.bench conv`` runs both suites).
VARIANT_SUITE: tuple[ConvCase, ...] = (
    ConvCase("DCGAN up 4->8", 8, 512, 256, 4, 4, 2, 1, "transposed"),
    ConvCase("DCGAN up 16->32", 8, 128, 64, 16, 4, 2, 1, "transposed"),
    ConvCase("U-Net up 2x2/2", 8, 128, 64, 28, 2, 2, 0, "transposed"),
    ConvCase("Up 3x3/2, out pad 1", 8, 64, 64, 28, 3, 2, 1, "transposed", 1),
    ConvCase("MobileNetV2 dw 112/2", 8, 96, 96, 112, 3, 2, 1, "depthwise"),
    ConvCase("MobileNetV2 dw 56", 8, 144, 144, 56, 3, 1, 1, "depthwise"),
    ConvCase("MobileNetV2 dw 14", 8, 384, 384, 14, 3, 1, 1, "depthwise"),
    ConvCase("ConvNeXt dw 7x7", 8, 96, 96, 56, 7, 1, 3, "depthwise"),
)

#: A quick suite for notebooks: about ten seconds on two cores, loops included.
SMALL_CONV_SUITE: tuple[ConvCase, ...] = (
    ConvCase("LeNet-5 conv1", 16, 1, 6, 32, 5),
    ConvCase("CIFAR 3x3", 4, 16, 16, 32, 3, 1, 1),
    ConvCase("ResNet-18 stage 4", 1, 512, 512, 7, 3, 1, 1),
    ConvCase("Large kernel 31x31", 1, 16, 16, 32, 31, 1, 15),
)

#: A quick suite of one transposed and one depthwise layer (a few seconds).
SMALL_VARIANT_SUITE: tuple[ConvCase, ...] = (
    ConvCase("DCGAN up 8->16", 2, 128, 64, 8, 4, 2, 1, "transposed"),
    ConvCase("MobileNetV2 dw 28", 2, 192, 192, 28, 3, 1, 1, "depthwise"),
)


@dataclass(frozen=True)
class ConvTiming:
    """One method on one case.

    Attributes:
        case: the :class:`ConvCase`.
        method: ``"torch"`` (the twin, the reference) or a method of
            :func:`cnnlib.ops.conv2d`.
        seconds: median time of one call (``nan`` if skipped).
        ratio: median over rounds of this method's time / the twin's time
            in the same round (``nan`` if skipped).
        gflops: ``case.flops / seconds / 1e9``.
        rounds: how many timed calls the medians come from.
        note: why a method was skipped or timed fewer rounds, else ``""``.
    """

    case: ConvCase
    method: str
    seconds: float
    ratio: float
    gflops: float
    rounds: int
    note: str = ""


def machine_description() -> str:
    """One line: CPU model, cores, threads torch uses, torch version."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} logical cores, torch {torch.__version__} "
        f"using {torch.get_num_threads()} threads"
    )


def matmul_gflops(sizes: Sequence[int] = (1024, 2048), rounds: int = 5, dtype: torch.dtype = torch.float32) -> float:
    """Best median GFLOP/s of square matrix products (``2 n^3`` FLOPs each).

    The ceiling for im2col: its heavy lifting is one such product.
    """
    best = 0.0
    for n in sizes:
        gen = torch.Generator().manual_seed(n)
        a = torch.randn(n, n, generator=gen, dtype=dtype)
        b = torch.randn(n, n, generator=gen, dtype=dtype)
        times = interleaved_times({"mm": lambda: a @ b}, rounds)["mm"]
        best = max(best, 2 * n**3 / statistics.median(times) / 1e9)
    return best


def time_conv_methods(
    cases: Iterable[ConvCase] = SMALL_CONV_SUITE,
    methods: Sequence[str] = ("im2col", "fft", "loops"),
    rounds: int = 5,
    loops_budget_s: float = 2.0,
    dtype: torch.dtype = torch.float32,
    threads: int | None = None,
    verbose: bool = False,
) -> list[ConvTiming]:
    """Time the twin (``F.conv2d`` or ``F.conv_transpose2d``) and each method on each case, interleaved.

    Every method first runs once, untimed, as a warm-up and to check its
    output against the twin's. The loops method is slow, so it joins only
    as many rounds as :func:`loops_rounds` allows, at least one. That number
    is decided from the layer's shape before anything is timed, so the
    rows (and the table's ``*`` marks) are the same however busy the
    machine is; only the measured times change.

    Args:
        cases: the layer shapes, e.g. :data:`CONV_SUITE` or :data:`SMALL_CONV_SUITE`.
        methods: methods of :func:`cnnlib.ops.conv2d` to time.
        rounds: interleaved rounds per case (the medians come from these).
        loops_budget_s: time allowed to the loops method per case, as
            estimated by :func:`loops_rounds` (not measured).
        dtype: floating-point type of the tensors.
        threads: run with this many torch threads (restored afterwards);
            ``None`` keeps the current setting. On a busy shared machine
            ``threads=1`` gives steadier numbers for small layers.
        verbose: print each case's result as it finishes.

    Returns:
        One :class:`ConvTiming` per case and method, the twin first
        (method ``"torch"``, ratio 1).
    """
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _time_cases(cases, methods, rounds, loops_budget_s, dtype, verbose)
    finally:
        torch.set_num_threads(before)
        clear_workspace()  # give back the im2col buffer the large cases grew


def _time_cases(cases, methods, rounds, loops_budget_s, dtype, verbose) -> list[ConvTiming]:
    rows: list[ConvTiming] = []
    for case in cases:
        x, w, b = case.tensors(dtype)
        twin, ours = case.functions(x, w, b)
        with torch.no_grad():
            expected = twin()
            fns = {REFERENCE: twin}
            caps = {"loops": loops_rounds(case, rounds, loops_budget_s)} if "loops" in methods else {}
            for m in (m for m in methods if covers(m, case)):
                fns[m] = (lambda m=m: ours(m))
                got = fns[m]()  # warm-up, and a correctness check
                tol = 1e-3 * max(1.0, float(expected.abs().max()))
                if not torch.allclose(got, expected, rtol=1e-3, atol=tol):
                    raise AssertionError(f"{m} disagrees with {KINDS[case.kind]} on {case.name}")
            times = interleaved_times(fns, rounds, max_rounds=caps, warmup=[REFERENCE])
        ref = times[REFERENCE]
        ref_median = statistics.median(ref)
        rows.append(ConvTiming(case, REFERENCE, ref_median, 1.0, case.flops / ref_median / 1e9, len(ref)))
        for m in (m for m in methods if covers(m, case)):
            seconds = statistics.median(times[m])
            ratio = median_ratio(times[m], ref)
            n_rounds = len(times[m])
            note = f"{n_rounds} round(s): slow" if n_rounds < rounds else ""
            rows.append(ConvTiming(case, m, seconds, ratio, case.flops / seconds / 1e9, n_rounds, note))
        if verbose:
            print(_case_line(case, [r for r in rows if r.case is case], methods), flush=True)
    return rows


def covers(method: str, case: ConvCase) -> bool:
    """Whether ``method`` handles ``case``: Winograd F(2x2, 3x3) only 3x3 stride-1 layers, the rest all."""
    return method != "winograd" or (case.kind != "transposed" and case.kernel_size == 3 and case.stride == 1)


def loops_rounds(case: ConvCase, rounds: int, budget_s: float) -> int:
    """How many of ``rounds`` the loops method joins on ``case``: at least 1.

    Decided from the shape alone, never from a measured time: the loop runs
    once per output position, so its cost is estimated as
    ``output_size ** 2 * LOOPS_SECONDS_PER_POSITION`` and the method joins as
    many rounds as that estimate fits in ``budget_s``. A machine that is busy
    makes the method slower, but never changes this number (and so never
    changes which rows of the table carry a ``*``).
    """
    estimate = case.output_size**2 * LOOPS_SECONDS_PER_POSITION
    return max(1, min(rounds, int(budget_s / estimate)))


def summarize(rows: Sequence[ConvTiming], kind: str | None = None) -> dict[str, float]:
    """Median ratio to the twin over the cases, per method, plus ``"best"``.

    ``"best"`` is the median over cases of the best from-scratch method's
    ratio on each case. With ``kind``, only the cases of that kind count.
    """
    if kind is not None:
        rows = [r for r in rows if r.case.kind == kind]
        if not rows:
            raise ValueError(f"summarize: no timed case of kind {kind!r}.")
    methods = [m for m in dict.fromkeys(r.method for r in rows) if m != REFERENCE]
    out = {m: statistics.median(r.ratio for r in rows if r.method == m) for m in methods}
    cases = list(dict.fromkeys(r.case for r in rows))
    out["best"] = statistics.median(min(r.ratio for r in rows if r.case == c and r.method != REFERENCE) for c in cases)
    return out


def _case_line(case: ConvCase, rows: Sequence[ConvTiming], methods: Sequence[str]) -> str:
    by = {r.method: r for r in rows}
    ref = by[REFERENCE]
    cells = [f"{case.name:<22}", f"{case.shape:<42}", f"{case.flops / 1e9:7.2f}", f"{ref.seconds * 1e3:9.2f}",
             f"{ref.gflops:6.1f}"]
    for m in methods:
        if m not in by:  # a method that does not cover this layer (winograd)
            cells.append(f"{'-':>9}{'':>7}")
            continue
        r = by[m]
        mark = "*" if r.note else " "
        cells.append(f"{r.ratio:8.2f}x{mark}{r.gflops:6.1f}")
    return " ".join(cells)


def format_conv_table(rows: Sequence[ConvTiming], ceiling_gflops: float | None = None) -> str:
    """A plain-text table of :func:`time_conv_methods` results with a summary.

    Args:
        rows: the timings.
        ceiling_gflops: the machine's matmul GFLOP/s, printed as the ceiling.

    Returns:
        The table as a string: one line per case with the twin's time and
        GFLOP/s, then each method's ratio and GFLOP/s; then the median ratios
        per kind of layer.
    """
    methods = [m for m in dict.fromkeys(r.method for r in rows) if m != REFERENCE]
    header = [f"{'case':<22}", f"{'input -> output, kernel/stride':<42}", f"{'GFLOP':>7}", f"{'torch ms':>9}",
              f"{'GF/s':>6}"] + [f"{m + ' ratio':>10} {'GF/s':>5}" for m in methods]
    lines = [" ".join(header), "-" * len(" ".join(header))]
    for case in dict.fromkeys(r.case for r in rows):
        lines.append(_case_line(case, [r for r in rows if r.case is case], methods))
    lines.append("")
    for kind in dict.fromkeys(r.case.kind for r in rows):
        summary = summarize(rows, kind)
        label = "over the suite" if kind == "conv" else f"over the {kind} cases"
        lines.append(f"median ratio to {KINDS[kind]} {label}: "
                     + ", ".join(f"{m} {summary[m]:.2f}x" for m in methods)
                     + f"; best method per case: {summary['best']:.2f}x")
    if ceiling_gflops is not None:
        lines.append(f"ceiling: a 2048x2048 float32 matrix product reaches {ceiling_gflops:.1f} GFLOP/s on this machine")
    if any(r.note for r in rows):
        lines.append("* fewer rounds: the loop method is slow, so it joins only as many rounds as its estimated "
                     "cost fits in its time budget (decided from the layer's shape before timing)")
    lines.append("ratio = median over interleaved rounds of (method time / the twin's time in the same round); "
                 "GF/s = 2 x multiply-adds / time; T = transposed, dw = depthwise")
    return "\n".join(lines)


def conv_table_markdown(rows: Sequence[ConvTiming]) -> str:
    """The timings as a Markdown table that fits a book's text column.

    One row per case: its name, kernel and channels, ``F.conv2d``'s median
    time, then each method's ratio to it (``*`` where the loop method joined
    fewer rounds, see :func:`loops_rounds`). Which rows carry a ``*`` depends
    on the shapes only, never on how busy the machine was.

    Args:
        rows: what :func:`time_conv_methods` returned.

    Returns:
        Markdown text: the table, then a line that explains its columns.
    """
    methods = [m for m in dict.fromkeys(r.method for r in rows) if m != REFERENCE]
    if not methods:
        raise ValueError("conv_table_markdown needs the rows of time_conv_methods, with at least one method.")
    header = ["layer", "kernel, channels", "F.conv2d ms"] + [f"{m} / F.conv2d" for m in methods]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 2 + ["--:"] * (1 + len(methods))) + "|"]
    for case in dict.fromkeys(r.case for r in rows):
        by = {r.method: r for r in rows if r.case is case}
        k = case.kernel_size
        cells = [case.name, f"{k}x{k}, {case.in_channels}->{case.out_channels}", f"{by[REFERENCE].seconds * 1e3:.2f}"]
        cells += [f"{by[m].ratio:.2f}" + ("\\*" if by[m].note else "") if m in by else "-" for m in methods]
        lines.append("| " + " | ".join(cells) + " |")
    summary = summarize(rows)
    lines.append("| median | | | " + " | ".join(f"{summary[m]:.2f}" for m in methods) + " |")
    note = ("Ratio = median over interleaved rounds of (method time / `F.conv2d` time in the same round); "
            "below 1 is faster than `F.conv2d`.")
    if any(r.note for r in rows):
        note += " \\* The loop method joined fewer rounds (decided from the layer's shape before timing)."
    return "\n".join(lines) + "\n\n" + note


def ratio_between(rows: Sequence[ConvTiming], case_name: str, method: str, reference: str = REFERENCE) -> float:
    """Median-based ratio of ``method``'s time to ``reference``'s time on one case.

    ``reference`` may be ``"torch"`` (the ratio :func:`time_conv_methods`
    stored) or another method, e.g. ``ratio_between(rows, "Large kernel 31x31",
    "fft", "im2col")``: below 1 means ``method`` was faster.

    Raises:
        KeyError: no row for that case and method (the message lists what exists).
    """
    def ratio(m: str) -> float:
        for r in rows:
            if r.case.name == case_name and r.method == m:
                return r.ratio
        known = sorted({(r.case.name, r.method) for r in rows})
        raise KeyError(f"no timing of method {m!r} on case {case_name!r}; the rows hold {known}")

    return ratio(method) / ratio(reference)
