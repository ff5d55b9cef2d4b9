"""The grader's bookkeeping, without running submissions: ids, shards, merging, reading notebooks."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from cnnlib.grading.grader import csv_text, load_hidden_tests, merge, select_shard
from cnnlib.grading.submission import MAX_CELL_CHARS, infer_exercises, read_submission, student_ids


def test_student_ids_are_the_shortest_unique_relative_paths():
    paths = [Path("a/ch2.ipynb"), Path("b/ch2.ipynb"), Path("x/carol.ipynb")]
    assert student_ids(paths) == {paths[0]: "a/ch2", paths[1]: "b/ch2", paths[2]: "carol"}
    deep = [Path("dupA/x/alice.ipynb"), Path("dupB/x/alice.ipynb"), Path("dupB/bob.ipynb")]
    assert student_ids(deep) == {deep[0]: "dupA/x/alice", deep[1]: "dupB/x/alice", deep[2]: "bob"}
    with pytest.raises(ValueError, match="twice"):
        student_ids([Path("a/x.ipynb"), Path("a/x.ipynb")])


def test_csv_cells_that_look_like_formulas_are_quoted():
    for text in ("=2+5", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert csv_text(text) == "'" + text
    assert csv_text("alice") == "alice" and csv_text("") == ""


def test_shards_partition_the_class():
    paths = [Path(f"s{i:02d}.ipynb") for i in range(11)]
    shards = [select_shard(paths, (i, 3)) for i in (1, 2, 3)]
    assert sorted(p for s in shards for p in s) == sorted(paths)
    assert all(len(s) in (3, 4) for s in shards)


def test_exercises_are_the_chapters_most_notebooks_mark():
    ids, outliers = infer_exercises({"a": ["2.1", "3.1"], "b": ["3.4", "2.2"], "c": [], "d": ["2.1", "1.1", "6.1"]})
    assert {"2.1", "2.2", "2.3", "2.4", "3.1", "3.4"} <= set(ids)
    assert all(i.split(".")[0] in ("2", "3") for i in ids)
    assert outliers == ["d"]
    with pytest.raises(ValueError, match="--exercises"):
        infer_exercises({"a": ["2.1"], "b": ["6.1"]})


def test_merge_refuses_a_student_in_two_shards():
    book = {"exercises": {"2.1": {}}, "submissions": [{"student": "a"}]}
    assert len(merge([book, {"exercises": {}, "submissions": [{"student": "b"}]}])["submissions"]) == 2
    with pytest.raises(ValueError, match="two shards"):
        merge([book, book])


def test_reading_bad_and_old_notebooks(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{ not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_submission(bad)
    (tmp_path / "list.ipynb").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not an object"):
        read_submission(tmp_path / "list.ipynb")
    v3 = nbformat.v3.new_notebook()
    v3.worksheets = [nbformat.v3.new_worksheet(cells=[nbformat.v3.new_code_cell(input="%time x = 1\n!ls")])]
    old = tmp_path / "old.ipynb"
    old.write_text(nbformat.v3.nbjson.writes(v3))
    sub = read_submission(old)
    assert sub.notes == ["converted from nbformat 3"]
    assert sub.cells[0][1] == "%time x = 1\n!ls"  # IPython syntax is the child's to apply


def test_reading_hostile_notebooks(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("y = 2\n" * MAX_CELL_CHARS)]
    nb.cells[0].metadata["cnnlib"] = {"exercise": "\u00b21"}
    nb.cells[1].metadata["cnnlib"] = {"exercise": "2.1"}
    path = tmp_path / "odd.ipynb"
    nbformat.write(nb, path)
    sub = read_submission(path)
    assert sub.ids == ["2.1"] and sub.cells[1] == (1, "")
    assert any("not run" in n for n in sub.notes) and any("ignored exercise markers" in n for n in sub.notes)
    deep = tmp_path / "deep.ipynb"
    deep.write_text('{"cells": [], "metadata": ' + '{"a": ' * 100_000 + "1" + "}" * 100_001)
    with pytest.raises(ValueError, match="nested too deeply"):
        read_submission(deep)
    link = tmp_path / "link.ipynb"
    link.symlink_to(path)
    with pytest.raises(ValueError, match="symbolic link"):
        read_submission(link)


def test_hidden_tests_directory(tmp_path):
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "a.py").write_text("SEED = 7\nCASES = {'2.1': lambda rng: []}\n")
    hidden.chmod(0o755)
    with pytest.raises(PermissionError, match="chmod"):
        load_hidden_tests(hidden)
    hidden.chmod(0o700)
    tests = load_hidden_tests(hidden)
    assert tests.seed == 7 and list(tests.extra) == ["2.1"]
    (hidden / "b.py").write_text("CASES = {'77.7': lambda rng: []}\n")
    with pytest.raises(KeyError):
        load_hidden_tests(hidden)
