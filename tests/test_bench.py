"""cnnlib.bench: the timing harness and the conv benchmark's bookkeeping (no speed is asserted)."""
from __future__ import annotations

import math

import pytest
import torch

from cnnlib.bench import (
    CONV_SUITE,
    LOOPS_SECONDS_PER_POSITION,
    SMALL_CONV_SUITE,
    SMALL_VARIANT_SUITE,
    VARIANT_SUITE,
    ConvCase,
    ConvTiming,
    conv_table_markdown,
    format_conv_table,
    interleaved_times,
    loops_rounds,
    median_ratio,
    ratio_between,
    stopwatch,
    summarize,
    time_conv_methods,
)
from cnnlib.bench.__main__ import main
from cnnlib.arith import conv_macs, conv_transpose_macs


def test_interleaved_times_rotates_order_and_respects_caps():
    calls = []
    fns = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    times = interleaved_times(fns, rounds=3, max_rounds={"c": 1}, warmup=["a"])
    assert calls[0] == "a"  # the warm-up call
    assert calls[1:] == ["a", "b", "c", "b", "a", "a", "b"]  # rounds start at a, b, c in turn; c only once
    assert [len(times[k]) for k in "abc"] == [3, 3, 1]
    assert all(t >= 0 for ts in times.values() for t in ts)


def test_stopwatch_fills_in_wall_and_cpu_time_also_after_an_error():
    import time

    with stopwatch() as quiet:
        time.sleep(0.05)  # waiting is wall-clock time, not this process's CPU time
    assert quiet.wall >= 0.05 and 0 <= quiet.cpu < quiet.wall
    with pytest.raises(KeyError):
        with stopwatch() as failed:
            {}["missing"]
    assert failed.wall > 0 and failed.cpu >= 0


def test_median_ratio_pairs_rounds():
    assert median_ratio([2.0, 9.0, 4.0], [1.0, 3.0, 2.0]) == 2.0
    assert median_ratio([5.0], [1.0, 100.0]) == 5.0  # only the rounds both took part in
    with pytest.raises(ValueError):
        median_ratio([], [1.0])


def test_suite_shapes_are_the_real_layers():
    by_name = {c.name: c for c in CONV_SUITE}
    assert by_name["LeNet-5 conv1"].output_size == 28
    assert by_name["AlexNet 11x11 stem"].output_size == 55
    assert by_name["ResNet 7x7 stem"].output_size == 112
    assert [by_name[f"ResNet-18 stage {i}"].output_size for i in (1, 2, 3, 4)] == [56, 28, 14, 7]
    assert by_name["Large kernel 31x31"].kernel_size == 31
    stage1 = by_name["ResNet-18 stage 1"]
    assert stage1.flops == 2 * 8 * conv_macs(64, 64, 3, 56)
    assert "8x64x56x56 -> 64x56x56, 3x3/1" == stage1.shape


def test_time_conv_methods_rows_and_table():
    cases = [ConvCase("tiny", 2, 3, 4, 8, 3, 1, 1), ConvCase("tiny strided", 1, 2, 2, 9, 5, 2, 0)]
    rows = time_conv_methods(cases, methods=("im2col", "fft", "loops"), rounds=2, loops_budget_s=0.0)
    assert [(r.case.name, r.method) for r in rows] == [
        (c.name, m) for c in cases for m in ("torch", "im2col", "fft", "loops")
    ]
    for r in rows:
        assert r.seconds > 0 and r.ratio > 0
        assert math.isclose(r.gflops, r.case.flops / r.seconds / 1e9)
        if r.method == "torch":
            assert r.ratio == 1.0 and r.rounds == 2
    loops = [r for r in rows if r.method == "loops"]
    assert all(r.rounds == 1 and r.note for r in loops)  # no budget: its single run is all it gets
    summary = summarize(rows)
    assert set(summary) == {"im2col", "fft", "loops", "best"}
    assert summary["best"] <= min(summary["im2col"], summary["fft"], summary["loops"]) + 1e-12
    table = format_conv_table(rows, ceiling_gflops=123.4)
    assert "tiny strided" in table and "123.4 GFLOP/s" in table and "best method per case" in table


def test_small_suite_is_small():
    assert len(SMALL_CONV_SUITE) >= 3
    assert sum(c.flops for c in SMALL_CONV_SUITE) < 1e9


def test_command_line_rejects_unknown_benchmarks(capsys):
    with pytest.raises(SystemExit):
        main(["pool"])
    assert "invalid choice" in capsys.readouterr().err


def test_benchmark_refuses_a_wrong_method():
    with pytest.raises(ValueError, match="method='magic'"):
        time_conv_methods([ConvCase("tiny", 1, 1, 1, 4, 3)], methods=("magic",), rounds=1)


def test_float64_cases():
    rows = time_conv_methods([ConvCase("tiny", 1, 2, 2, 6, 3)], methods=("im2col",), rounds=1, dtype=torch.float64)
    assert len(rows) == 2


def test_threads_setting_is_restored():
    before = torch.get_num_threads()
    time_conv_methods([ConvCase("tiny", 1, 1, 1, 5, 3)], methods=("im2col",), rounds=1, threads=1)
    assert torch.get_num_threads() == before


def test_ratio_figure_draws_every_method_per_case_on_a_log_scale():
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cnnlib.bench.conv import ConvTiming
    from cnnlib.viz import plot_conv_ratios

    cases = SMALL_CONV_SUITE[:2]
    ratios = {"im2col": 1.5, "fft": 4.0, "loops": float("nan")}  # loops skipped: a gap, not an error
    rows = [ConvTiming(case, m, 1e-3, r, 1.0, 3, "") for case in cases for m, r in ratios.items()]
    fig = plot_conv_ratios(rows)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert len(heights) == 3 * len(cases)
    assert heights[: len(cases)] == [1.5] * len(cases) and heights[len(cases): 2 * len(cases)] == [4.0] * len(cases)
    assert all(math.isnan(h) for h in heights[2 * len(cases):])
    assert ax.get_yscale() == "log" and ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["F.conv2d (= 1)", "im2col", "fft", "loops"]
    plt.close(fig)
    with pytest.raises(ValueError, match="1 to 3 methods"):
        plot_conv_ratios(rows, methods=())
    with pytest.raises(ValueError, match="at least one timed case"):
        plot_conv_ratios([])


def test_loops_rounds_come_from_the_shape():
    small, large = ConvCase("small", 1, 1, 1, 8, 3), ConvCase("large", 1, 1, 1, 224, 3)
    assert loops_rounds(small, rounds=5, budget_s=10.0) == 5
    assert loops_rounds(large, rounds=5, budget_s=0.0) == 1  # always at least one timed round
    budget = 3.5 * large.output_size**2 * LOOPS_SECONDS_PER_POSITION
    assert loops_rounds(large, rounds=5, budget_s=budget) == 3


def test_rounds_and_marks_do_not_depend_on_machine_load(monkeypatch):
    """A loop method made 20 ms slower per call (a busy machine) joins the same
    rounds and carries the same marks: the layout the determinism test
    compares is fixed before anything is timed."""
    import time

    import cnnlib.bench.conv as bench_conv

    cases = [ConvCase("a", 1, 2, 2, 6, 3), ConvCase("b", 1, 2, 2, 40, 3)]
    budget = 2.5 * cases[1].output_size**2 * LOOPS_SECONDS_PER_POSITION  # b gets 2 of 3 rounds
    quiet = time_conv_methods(cases, methods=("im2col", "loops"), rounds=3, loops_budget_s=budget)
    real = bench_conv.conv2d

    def slow(*args, method="im2col", **kw):
        if method == "loops":
            time.sleep(0.02)
        return real(*args, method=method, **kw)

    monkeypatch.setattr(bench_conv, "conv2d", slow)
    busy = time_conv_methods(cases, methods=("im2col", "loops"), rounds=3, loops_budget_s=budget)
    assert [(r.method, r.rounds, r.note) for r in quiet] == [(r.method, r.rounds, r.note) for r in busy]
    assert [r.rounds for r in busy if r.method == "loops"] == [3, 2]
    quiet_table, busy_table = conv_table_markdown(quiet), conv_table_markdown(busy)
    assert quiet_table.count("\\*") == busy_table.count("\\*") == 2  # b's mark and the footnote


def _rows(ratios: dict[str, dict[str, float]], notes=()):
    cases = {name: ConvCase(name, 1, 3, 8, 16, k) for name, k in zip(ratios, (3, 31, 5))}
    return [ConvTiming(cases[name], m, 1e-3 * r, r, 1.0, 3, "1 round(s): slow" if (name, m) in notes else "")
            for name, by in ratios.items() for m, r in {"torch": 1.0, **by}.items()]


def test_markdown_table_fits_and_marks():
    rows = _rows({"small": {"im2col": 2.0, "fft": 8.0}, "big": {"im2col": 3.0, "fft": 0.5}}, notes={("big", "fft")})
    table = conv_table_markdown(rows)
    lines = table.splitlines()
    assert lines[0] == "| layer | kernel, channels | F.conv2d ms | im2col / F.conv2d | fft / F.conv2d |"
    assert all(line.count("|") == 6 for line in lines[:5])  # header, rule, two cases, median
    assert "| big | 31x31, 3->8 | 1.00 | 3.00 | 0.50\\* |" in lines
    assert lines[4] == "| median | | | 2.50 | 4.25 |"
    assert "fewer rounds" in table
    assert max(len(line) for line in lines[:5]) < 80  # table rows; the note below is a paragraph
    assert "fewer rounds" not in conv_table_markdown(_rows({"small": {"im2col": 2.0}}))
    with pytest.raises(ValueError, match="at least one method"):
        conv_table_markdown([r for r in rows if r.method == "torch"])


def test_ratio_between_methods():
    rows = _rows({"small": {"im2col": 2.0, "fft": 8.0}, "big": {"im2col": 3.0, "fft": 0.6}})
    assert ratio_between(rows, "big", "fft") == 0.6
    assert math.isclose(ratio_between(rows, "big", "fft", "im2col"), 0.2)
    assert math.isclose(ratio_between(rows, "small", "fft", "im2col"), 4.0)
    with pytest.raises(KeyError, match="loops"):
        ratio_between(rows, "big", "loops")


def test_variant_suites_are_real_transposed_and_depthwise_layers():
    by_name = {c.name: c for c in VARIANT_SUITE}
    assert {c.kind for c in VARIANT_SUITE} == {"transposed", "depthwise"}
    assert all(c.kind == "conv" for c in CONV_SUITE + SMALL_CONV_SUITE)
    assert by_name["DCGAN up 4->8"].output_size == 8 and by_name["DCGAN up 16->32"].output_size == 32
    assert by_name["U-Net up 2x2/2"].output_size == 56 and by_name["Up 3x3/2, out pad 1"].output_size == 56
    assert by_name["MobileNetV2 dw 112/2"].output_size == 56 and by_name["ConvNeXt dw 7x7"].output_size == 56
    up = by_name["DCGAN up 4->8"]
    assert up.flops == 2 * 8 * conv_transpose_macs(512, 256, 4, 4)
    dw = by_name["MobileNetV2 dw 56"]
    assert dw.groups == 144 and dw.flops == 2 * 8 * conv_macs(144, 144, 3, 56, groups=144)
    x, w, b = dw.tensors()
    assert w.shape == (144, 1, 3, 3)
    x, w, b = up.tensors()
    assert w.shape == (512, 256, 4, 4)
    assert up.shape.endswith("4x4/2 T") and dw.shape.endswith("3x3/1 dw")
    with pytest.raises(ValueError, match="kind='dilated'"):
        ConvCase("bad", 1, 1, 1, 4, 3, kind="dilated")


def test_transposed_and_depthwise_rows_are_timed_against_their_twins():
    cases = [ConvCase("tiny T", 1, 3, 2, 5, 3, 2, 1, "transposed", 1), ConvCase("tiny dw", 2, 3, 6, 8, 3, 1, 1,
                                                                                "depthwise"),
             ConvCase("tiny", 1, 2, 2, 6, 3)]
    rows = time_conv_methods(cases, methods=("im2col", "fft", "loops"), rounds=2, loops_budget_s=1.0)
    assert [(r.case.name, r.method) for r in rows] == [
        (c.name, m) for c in cases for m in ("torch", "im2col", "fft", "loops")]
    assert all(r.seconds > 0 and r.ratio > 0 for r in rows)
    assert set(summarize(rows, "transposed")) == {"im2col", "fft", "loops", "best"}
    with pytest.raises(ValueError, match="no timed case"):
        summarize(rows[:4], "depthwise")
    table = format_conv_table(rows)
    for words in ("median ratio to F.conv2d over the suite", "median ratio to F.conv_transpose2d over the transposed",
                  "median ratio to F.conv2d(groups=C_in) over the depthwise", "tiny T", "5x5 -> 2x10x10"):
        assert words in table, words


def test_small_variant_suite_is_small():
    assert {c.kind for c in SMALL_VARIANT_SUITE} == {"transposed", "depthwise"}
    assert sum(c.flops for c in SMALL_VARIANT_SUITE) < 3e8


def test_command_line_rejects_unknown_kinds(capsys):
    with pytest.raises(SystemExit):
        main(["conv", "--kinds", "dilated"])
    assert "choose among conv, transposed, depthwise" in capsys.readouterr().err
