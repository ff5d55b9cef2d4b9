"""The grader's bookkeeping, without running submissions: ids, shards, merging, reading notebooks."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from cnnlib.grading.grader import infer_exercises, load_hidden_tests, merge, read_submission, select_shard, student_ids


def test_student_ids_use_the_folder_when_names_repeat():
    paths = [Path("a/ch2.ipynb"), Path("b/ch2.ipynb"), Path("x/carol.ipynb")]
    assert student_ids(paths) == {paths[0]: "a/ch2", paths[1]: "b/ch2", paths[2]: "carol"}


def test_shards_partition_the_class():
    paths = [Path(f"s{i:02d}.ipynb") for i in range(11)]
    shards = [select_shard(paths, (i, 3)) for i in (1, 2, 3)]
    assert sorted(p for s in shards for p in s) == sorted(paths)
    assert all(len(s) in (3, 4) for s in shards)


def test_exercises_are_inferred_per_chapter():
    ids = infer_exercises([["2.1"], ["3.4", "2.2"], []])
    assert {"2.1", "2.2", "2.3", "2.4", "3.1", "3.4"} <= set(ids)
    assert all(i.split(".")[0] in ("2", "3") for i in ids)


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
    cells, ids, notes = read_submission(old)
    assert notes == ["converted from nbformat 3"]
    assert "get_ipython().run_line_magic('time', 'x = 1')" in cells[0][1]


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
