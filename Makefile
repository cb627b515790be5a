# The project's entry points. `make help` lists them; each is thin wiring over the package or DVC.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PY := $(BIN)/python
DVC := $(BIN)/dvc
STAMP := $(VENV)/.setup-done
PLOTS_TEMPLATE := .dvc/plots_offline.html
# Git ref `make ci` compares against.
BASE ?= main
# Extra flags for `dvc pull` in `make ci`, e.g. PULL_FLAGS=--run-cache in GitHub Actions.
PULL_FLAGS ?=

# Stage commands in dvc.yaml call `python`: make it the project's.
export PATH := $(BIN):$(PATH)

.PHONY: help setup repro test lint format plots ci lock clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(STAMP) ## Create .venv and install the locked dependencies (skipped when up to date)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		{ echo "error: Python 3.11 is needed; run with PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(PY) -m mlpipeline.plots_template --out $(PLOTS_TEMPLATE)
	@touch $@

# DVC's default page loads Vega from a CDN; this one inlines it (see src/mlpipeline/plots_template.py).
$(PLOTS_TEMPLATE):
	$(PY) -m mlpipeline.plots_template --out $@

repro: setup ## Pull the data, run the pipeline (dvc repro), print metrics and the gate verdict
	$(DVC) pull --allow-missing
	$(DVC) repro
	@$(PY) -m mlpipeline.summary

test: setup ## Run the test suite
	$(BIN)/pytest

lint: setup ## Check code style (ruff lint and format check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup ## Fix what ruff can fix and format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

plots: setup $(PLOTS_TEMPLATE) ## Render every plot to dvc_plots/index.html (opens offline)
	$(DVC) plots show

ci: setup ## What a pull request runs: pull, repro, reproducibility check, diffs, gate vs BASE
	$(DVC) pull --allow-missing $(PULL_FLAGS)
	$(DVC) repro
	$(PY) -m mlpipeline.reprocheck
	$(PY) -m mlpipeline.gate --base $(BASE)

lock: ## Re-resolve dependencies from pyproject.toml into requirements.lock
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^mlpipeline' > requirements.lock
	rm -rf .lock-venv

clean: ## Remove the virtual environment and generated reports
	rm -rf $(VENV) reports dvc_plots
