# pcc: run `make help` for the list of targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints-cpu.txt
	@bash tools/install_system_deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints-cpu.txt torch==2.13.0 2>&1 | grep -v "is ignored" || true
	$(BIN)/pip install -q -c constraints-cpu.txt -e ".[dev]" 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -c "import torch, pcc, constriction, open3d" >/dev/null
	@# compile the CPU rasteriser now (falls back to PyTorch with a warning if it cannot be built)
	$(BIN)/python -m pcc.gaussians.render_native --build || true
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install pcc with all extras (CPU torch)

lint: $(STAMP)  ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP)  ## install if needed, then ruff and the whole pytest suite (notebooks included)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	MPLBACKEND=Agg $(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)  ## unit tests only (no slow, no notebooks)
	MPLBACKEND=Agg $(BIN)/python -m pytest -m "not slow and not notebooks" $(PYTEST_ARGS)

format: $(STAMP)  ## apply ruff format and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

demo: $(STAMP)  ## notebook 06 (papermill + HTML report) and the codec demo -> output/demo-<timestamp>/
	MPLBACKEND=Agg $(BIN)/python -m pcc.demo

bench: $(STAMP)  ## benchmarks (ratios measured side by side); JSON/CSV in output/bench-<timestamp>/
	nice $(BIN)/python -m pcc.bench

results: $(STAMP)  ## regenerate docs/results.md (reuses the newest full `make bench`, runs c3dgs; RD="a.json b.json" adds c3dgs RD tables)
	nice $(BIN)/python -m pcc.bench.results $(foreach f,$(RD),--c3dgs-rd $(f))

fuzz: $(STAMP)  ## structure-aware fuzzing of every decoder (make fuzz N=10000)
	nice $(BIN)/python tools/fuzz.py --n $(or $(N),10000)

lab: $(STAMP)  ## start JupyterLab on the notebooks
	$(BIN)/jupyter lab notebooks

clean:  ## remove outputs and caches (keeps .venv)
	rm -rf output .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +

.PHONY: help install lint test test-fast format demo bench results fuzz lab clean
