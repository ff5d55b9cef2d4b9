"""The recipes for grading a class on Slurm, GitHub Actions and Kubernetes
(book/grading_recipes/): they agree on the shard count, and their shard and
merge scripts, run as n parallel processes here, give the gradebook of one run.
"""
from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "book" / "grading_recipes"
CORPUS = ROOT / "tests" / "grading_corpus" / "submissions"
FEW = ["correct", "untouched", "crash_in_function", "wrong_formula", "renamed_function", "deleted_cell"]
LIMITS = "--timeout 20 --cell-timeout 8 --call-timeout 4 --memory-mb 4096"


def _text(name: str) -> str:
    return (RECIPES / name).read_text()


def test_slurm_array_size_matches_its_shards_and_merge():
    sbatch, submit = _text("slurm_grade.sbatch"), _text("slurm_submit.sh")
    n = int(re.search(r"^#SBATCH --array=1-(\d+)$", sbatch, re.M).group(1))
    assert re.search(rf'grade_shard\.sh "\$SLURM_ARRAY_TASK_ID" {n}$', sbatch, re.M)
    assert f"merge_shards.sh {n}" in submit and "--dependency=\"afterok:$array\"" in submit


def test_actions_matrix_covers_every_shard_then_merges():
    flow = yaml.safe_load(_text("github_actions.yml"))
    shards = flow["jobs"]["shard"]["strategy"]["matrix"]["shard"]
    n = len(shards)
    assert shards == list(range(1, n + 1))
    runs = " ".join(s.get("run", "") for s in flow["jobs"]["shard"]["steps"])
    assert f'grade_shard.sh "$SHARD" {n}' in runs
    assert flow["jobs"]["merge"]["needs"] == "shard"
    assert f"merge_shards.sh {n}" in " ".join(s.get("run", "") for s in flow["jobs"]["merge"]["steps"])


def test_kubernetes_indexed_job_covers_every_shard_then_merges():
    job = yaml.safe_load(_text("kubernetes.yaml"))["spec"]
    n = job["completions"]
    assert job["completionMode"] == "Indexed" and job["parallelism"] <= n
    command = " ".join(job["template"]["spec"]["containers"][0]["command"])
    assert f"grade_shard.sh $((JOB_COMPLETION_INDEX + 1)) {n}" in command
    merge = yaml.safe_load(_text("kubernetes_merge.yaml"))["spec"]["template"]["spec"]["containers"][0]
    assert merge["command"][-2:] == ["/recipes/merge_shards.sh", str(n)]


def _env(out: Path, submissions: Path) -> dict:
    return {**os.environ, "PYTHON": sys.executable, "SUBMISSIONS": str(submissions), "OUT": str(out),
            "GRADE_ARGS": f"{LIMITS} --quiet", "PYTHONPATH": str(ROOT)}


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_parallel_shards_then_merge_equal_one_run(tmp_path):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for name in FEW:
        shutil.copy(CORPUS / f"{name}.ipynb", submissions)
    n = 3
    shard_env = _env(tmp_path / "sharded", submissions)
    procs = [subprocess.Popen(["bash", str(RECIPES / "grade_shard.sh"), str(i), str(n)], env=shard_env,
                              stderr=subprocess.PIPE, text=True) for i in range(1, n + 1)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
    parts = [_rows(tmp_path / "sharded" / f"part{i}.csv") for i in range(1, n + 1)]
    assert sorted(len(p) for p in parts) == [2, 2, 2]

    merged = subprocess.run(["bash", str(RECIPES / "merge_shards.sh"), str(n)], env=shard_env,
                            capture_output=True, text=True)
    assert merged.returncode == 0, merged.stderr

    one_env = _env(tmp_path / "one", submissions)
    one = subprocess.run(["bash", str(RECIPES / "grade_shard.sh"), "1", "1"], env={**one_env, "GRADE_ARGS":
                         f"{LIMITS} --quiet --jobs 2"}, capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr[-3000:]
    whole = _rows(tmp_path / "one" / "part1.csv")
    assert [r["student"] for r in whole] == sorted(FEW)
    assert _rows(tmp_path / "sharded" / "grades.csv") == whole


def test_merge_refuses_when_a_shard_is_missing(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "part1.json").write_text('{"exercises": {}, "submissions": []}')
    done = subprocess.run(["bash", str(RECIPES / "merge_shards.sh"), "2"], env=_env(tmp_path / "out", tmp_path),
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert "part2.json is missing" in done.stderr and not (tmp_path / "out" / "grades.csv").exists()
