"""The benchmark times Winograd side by side, on the layers it covers only."""
from __future__ import annotations

from cnnlib.bench import ConvCase, conv_table_markdown, format_conv_table, summarize, time_conv_methods
from cnnlib.bench.conv import covers


def test_winograd_rows_only_on_3x3_stride_1_layers():
    cases = [ConvCase("three", 1, 2, 3, 8, 3, 1, 1), ConvCase("five", 1, 2, 3, 8, 5), ConvCase("strided", 1, 2, 3, 8, 3, 2)]
    assert [covers("winograd", c) for c in cases] == [True, False, False]
    assert all(covers("im2col", c) for c in cases)
    rows = time_conv_methods(cases, methods=("im2col", "winograd"), rounds=2)
    assert {(r.case.name, r.method) for r in rows if r.method == "winograd"} == {("three", "winograd")}
    summary = summarize(rows)
    assert summary["winograd"] == next(r.ratio for r in rows if r.method == "winograd")
    table = format_conv_table(rows)
    assert "winograd ratio" in table and "median ratio to F.conv2d over the suite: im2col" in table
    five = next(line for line in conv_table_markdown(rows).splitlines() if line.startswith("| five"))
    assert five.rstrip(" |").endswith("-")
