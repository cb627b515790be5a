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
# Registry and prediction: make release NOTES=..., make promote VERSION=v1.2.0 STAGE=prod,
# make rollback STAGE=prod, make predict INPUT=in.csv OUTPUT=out.csv [STAGE=prod | VERSION=v1.2.0].
NOTES ?=
VERSION ?=
STAGE ?=
INPUT ?=
OUTPUT ?=
# Bring your own data: make use-data DATA=file.csv TARGET=column [TASK=...] [ID=column].
DATA ?=
TARGET ?=
TASK ?=
ID ?=
# make bench: repetitions on the sample, and the row counts of the scale runs.
BENCH_REPS ?= 5
BENCH_SCALES ?= 1000000,4000000
# FORCE="reason" releases off the base branch; the reason goes into the model card.
FORCE ?=
# PUSH=1 pushes registry tags to origin (CI on main does).
PUSH ?=
push_flag = $(if $(PUSH),--push,)
# Extra flags for `dvc pull` in `make ci`, e.g. PULL_FLAGS=--run-cache in GitHub Actions.
PULL_FLAGS ?=

# `dvc pull` that, when it fails, names the remote and says where to fix it.
define dvc_pull
	@$(DVC) pull --allow-missing $(1) || { \
		echo "error: dvc pull from remote '$$($(DVC) remote default)' failed (see above): check its url in .dvc/config and its credentials; README, 'The DVC remote'" >&2; \
		exit 1; }
endef

# Stage commands in dvc.yaml call `python`: make it the project's.
export PATH := $(BIN):$(PATH)

.PHONY: help setup repro test lint format plots ci summary-md push retrain release promote rollback models predict use-data bench lock clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(STAMP) ## Create .venv and install the locked dependencies (skipped when up to date)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		{ echo "error: Python 3.11 is needed; run with PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(PY) -m mlpipeline.commands.plots_template --out $(PLOTS_TEMPLATE)
	@touch $@

# DVC's default page loads Vega from a CDN; this one inlines it (see src/mlpipeline/commands/plots_template.py).
$(PLOTS_TEMPLATE):
	$(PY) -m mlpipeline.commands.plots_template --out $@

repro: setup ## Pull the data, run the pipeline (dvc repro), print metrics and the gate verdict
	$(call dvc_pull)
	$(DVC) repro
	@$(PY) -m mlpipeline.commands.summary

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

ci: setup ## What a pull request runs: pull, repro, then every rule vs BASE (paired), always a report
	$(call dvc_pull,$(PULL_FLAGS))
	@# The gate runs whatever repro did, so a breach still gets its full report; it exits non-zero then.
	@$(DVC) repro; code=$$?; $(PY) -m mlpipeline.commands.ci_gate --base "$(BASE)" --repro-exit $$code

summary-md: ## Print the gate report (or the metrics) as Markdown, for CI job summaries
	@$(PY) -m mlpipeline.commands.summary --markdown

push: setup ## Push data, models and DVC's run-cache to the default remote
	$(DVC) push --run-cache

retrain: setup ## Full retrain on all rows (ignores split.sample_fraction), then the gate
	$(call dvc_pull)
	$(DVC) exp run --force --set-param split.sample_fraction=1.0
	@$(PY) -m mlpipeline.commands.summary

use-data: setup ## Adopt your CSV: DATA=file.csv TARGET=column [TASK=classification|regression] [ID=column]
	@test -n "$(DATA)" -a -n "$(TARGET)" || { echo "usage: make use-data DATA=file.csv TARGET=column" >&2; exit 2; }
	$(PY) -m mlpipeline.commands.usedata --data "$(DATA)" --target "$(TARGET)" $(if $(TASK),--task "$(TASK)",) $(if $(ID),--id "$(ID)",)

release: setup ## Register the model at HEAD (clean tree, on gate.base, full gate passes) [NOTES=...] [FORCE=why]
	$(PY) -m mlpipeline.commands.registry release --notes "$(NOTES)" $(if $(VERSION),--version $(VERSION),) $(push_flag) --force-reason "$(FORCE)"

promote: setup ## Assign a stage to a version: VERSION=vX.Y.Z STAGE=prod|staging
	@test -n "$(VERSION)" -a -n "$(STAGE)" || { echo "usage: make promote VERSION=vX.Y.Z STAGE=prod" >&2; exit 2; }
	$(PY) -m mlpipeline.commands.registry promote --version "$(VERSION)" --stage "$(STAGE)" $(push_flag)

rollback: setup ## Give a stage back to the version that held it before: STAGE=prod
	@test -n "$(STAGE)" || { echo "usage: make rollback STAGE=prod" >&2; exit 2; }
	$(PY) -m mlpipeline.commands.registry rollback --stage "$(STAGE)" $(push_flag)

models: setup ## List model versions, their stages, metrics and notes
	@$(PY) -m mlpipeline.commands.registry models

predict: setup ## Predict: INPUT=in.csv OUTPUT=out.csv [STAGE=prod | VERSION=vX.Y.Z]
	@test -n "$(INPUT)" -a -n "$(OUTPUT)" || { echo "usage: make predict INPUT=in.csv OUTPUT=out.csv [STAGE=prod]" >&2; exit 2; }
	$(PY) -m mlpipeline.commands.predict --input "$(INPUT)" --output "$(OUTPUT)" --stage "$(STAGE)" --version "$(VERSION)"

bench: setup ## Benchmark: pipeline vs single script, DVC overhead, scale; the gate's false alarms and cost
	$(PY) benchmarks/run.py --reps $(BENCH_REPS) --scales "$(BENCH_SCALES)"
	$(PY) benchmarks/gate.py --reps $(BENCH_REPS)

lock: ## Re-resolve dependencies from pyproject.toml into requirements.lock
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^mlpipeline' > requirements.lock
	rm -rf .lock-venv

clean: ## Remove the virtual environment and generated reports
	rm -rf $(VENV) reports dvc_plots
