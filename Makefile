# The project's entry points. `make help` lists them; each is thin wiring over the package or DVC.
.DEFAULT_GOAL := help
SHELL := /bin/bash

# Supported interpreters. A new .venv uses PYTHON if given, else the pinned one below, else the first of python3, python3.13,
# python3.12, python3.11 that is one of them. An existing .venv is kept unless PYTHON names another.
# Interpreters are looked up on the PATH make started with: recipes put .venv/bin first.
SUPPORTED := 3.11 3.12 3.13
ORIG_PATH := $(PATH)
py_minor = $(shell PATH="$(ORIG_PATH)" $(1) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
# A generated project's .python-version (copier asks) comes first when that interpreter is here.
PINNED := $(if $(wildcard .python-version),python$(strip $(shell cat .python-version)))
PYTHON ?= $(or $(if $(PINNED),$(if $(filter $(SUPPORTED),$(call py_minor,$(PINNED))),$(PINNED))),$(firstword $(foreach p,python3 python3.13 python3.12 python3.11,$(if $(filter $(SUPPORTED),$(call py_minor,$(p))),$(p)))),python3)
# The interpreter itself, not a venv's link to it (a venv's python would vanish with `uv venv --clear`).
base_python = PATH="$(ORIG_PATH)" $(PYTHON) -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))'
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PY := $(BIN)/python
DVC := $(BIN)/dvc
STAMP := $(VENV)/.setup-done
DEV_STAMP := $(VENV)/.dev-done
SERVE_STAMP := $(VENV)/.serve-done
DASK_STAMP := $(VENV)/.dask-done
# uv builds the environments; when it is not on PATH, the pinned, hashed one in .ci/ is installed.
UV_PIN := .ci/uv-requirements.txt
TOOLS := $(CURDIR)/.tools
ifndef UV
UV := $(or $(shell command -v uv 2>/dev/null),$(TOOLS)/bin/uv)
endif
# uv must never download an interpreter: the project uses the one it is given. It compiles bytecode
# at install (--compile-bytecode below), as pip does: without it every stage would compile its
# imports afresh wherever Python may not write .pyc files (PYTHONDONTWRITEBYTECODE, read-only venvs).
export UV_PYTHON_DOWNLOADS := never
ifneq ($(filter command line environment,$(origin PYTHON)),)
ifneq ($(wildcard $(PY)),)
ifneq ($(call py_minor,$(PYTHON)),$(call py_minor,$(PY)))
$(shell rm -f $(STAMP) $(DEV_STAMP))
endif
endif
endif
PLOTS_TEMPLATE := .dvc/plots_offline.html
# The git hooks that keep data/, models/ and metrics/ in step with dvc.lock after a checkout or merge
# (src/mlpipeline/commands/githooks.py); empty outside a git repository.
GIT_HOOK := $(shell git rev-parse --git-path hooks/post-merge 2>/dev/null)
# Git ref `make ci` compares against.
BASE ?= main
# Registry and prediction: make release NOTES=..., make promote VERSION=v1.2.0 STAGE=prod,
# make rollback STAGE=prod, make predict INPUT=in.csv OUTPUT=out.csv [STAGE=prod | VERSION=v1.2.0].
NOTES ?=
VERSION ?=
STAGE ?=
INPUT ?=
OUTPUT ?=
# make serve: where the service listens (loopback unless you say otherwise).
PORT ?= 8000
HOST ?= 127.0.0.1
# make serve LOG=logs/served.jsonl: log every scored row (rotated) for make monitor; off by default.
LOG ?=
# make image: the tag (default mlpipeline-model:<version>), the Python base image of both stages,
# (default: the Containerfile's, the official slim image) and a folder of wheels for an offline build (pip wheel -r requirements-serve.lock -w DIR).
IMAGE ?=
IMAGE_BASE ?=
WHEELS ?=
# Bring your own data: make use-data DATA=file.csv TARGET=column [TASK=...] [ID=column].
DATA ?=
TARGET ?=
TASK ?=
ID ?=
# make bench: repetitions on the sample, and the row counts of the scale runs.
BENCH_REPS ?= 5
BENCH_SCALES ?= 1000000,4000000
# make bench: row counts of the engine runs (validate on Parquet partitions, local against Dask).
BENCH_ENGINE_ROWS ?= 1000000,10000000
# make bench: length of the serving load run (concurrency 8).
BENCH_LOAD_SECONDS ?= 60
# make new-project: the template version (a git tag of this repository; default the newest).
TEMPLATE_REF ?=
DEST ?=
DEFAULTS ?=
ANSWERS ?=
# FORCE="reason" releases off the base branch; the reason goes into the model card.
FORCE ?=
# ALLOW_UNPAIRED="reason" releases when the last version's model cannot be restored (the gate then
# compares recorded figures, not both models on the same rows); the reason goes into the model card.
ALLOW_UNPAIRED ?=
# PUSH=1 pushes registry tags to origin (CI on main does).
PUSH ?=
push_flag = $(if $(PUSH),--push,)
# make remote URL=s3://bucket/path [ENDPOINT=https://minio.example:9000]: the team's DVC remote.
URL ?=
ENDPOINT ?=
# Extra flags for `dvc pull` in `make ci`, e.g. PULL_FLAGS=--run-cache in GitHub Actions.
PULL_FLAGS ?=
# make ci FULL=1: train on every row for this run, whatever split.sample_fraction says (docs/how-to/cluster.md).
FULL ?=
# make test: which tiers (a pytest -m expression over fast, integration, e2e, slow; docs/development.md, "Tests")
# and how many pytest-xdist workers (auto: one per core; 0 runs in this process, for a debugger).
MARK ?= not slow
WORKERS ?= auto
# Work stealing: a worker that runs out takes tests from the end of another's share.
xdist = $(if $(filter 0,$(WORKERS)),-n 0,-n $(WORKERS) --dist worksteal)
# make serve WORKERS=N: processes serving requests (auto: one per core); one unless WORKERS is given.
serve_workers = $(if $(filter file,$(origin WORKERS)),1,$(WORKERS))

# params.yaml engine.name: dask needs the dask group: installed on first use, like the serve group.
define dask_if_asked
	@if [ -n "$(DASK_ADDRESS)" ] || [ "$$($(PY) -m mlpipeline.commands.settings --get engine.name)" = dask ]; then $(MAKE) --no-print-directory $(DASK_STAMP); fi
endef

# `dvc pull`, then a check that the pipeline's input is here: a failure names the remote and what
# to run where (src/mlpipeline/commands/sync.py).
define dvc_pull
	@$(PY) -m mlpipeline.commands.sync pull $(1)
endef

# The pipeline on every row as a DVC experiment (make retrain, make ci FULL=1). `dvc exp run -S`
# writes the value into params.yaml; the file is put back as it was, so a committed sample
# fraction (smoke mode) is never ended by a retrain that gets committed. Exit code: the run's.
# The copy of params.yaml waits in the project's own .dvc/tmp (git ignores it), never in .venv,
# which projects and test clones may share: two runs at once would restore each other's copy.
define every_row
(echo "$(DVC) exp run $(1) -S split.sample_fraction=1.0 $(on_cluster)"; mkdir -p .dvc/tmp; cp params.yaml .dvc/tmp/params.yaml.kept; \
	$(DVC) exp run $(1) -S split.sample_fraction=1.0 $(on_cluster); run=$$?; mv -f .dvc/tmp/params.yaml.kept params.yaml; exit $$run)
endef
# make ci FULL=1 DASK_ADDRESS=tcp://host:8786 (and make retrain): that run on a Dask cluster, whatever
# params.yaml's engine says, which stays as committed (full-run.yml passes vars.DASK_SCHEDULER).
DASK_ADDRESS ?=
on_cluster = $(if $(DASK_ADDRESS),-S engine.name=dask -S engine.address=$(DASK_ADDRESS),)

# Stage commands in dvc.yaml call `python`: make it the project's.
export PATH := $(BIN):$(PATH)


.PHONY: help setup setup-dask setup-dev repro test test-all lint format plots ci summary-md reprocheck remote doctor push refresh-data retrain release promote rollback experiments models predict serve image monitor new-project detach use-data update-data bench lock docs clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(STAMP) $(GIT_HOOK) ## Create .venv with what the pipeline needs, from requirements.lock (skipped when up to date)

setup-dask: $(DASK_STAMP) ## setup, plus the Dask engine (dask, distributed) from requirements-dask.lock

setup-dev: $(DEV_STAMP) ## setup, plus the dev group (tests, linters) from requirements-dev.lock

# The interpreter must be supported before anything is installed with it.
define check_python
	@PATH="$(ORIG_PATH)" $(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null || { \
		echo "error: '$(PYTHON)' is not Python $(SUPPORTED) (it is: $(or $(call py_minor,$(PYTHON)),not found)); run with PYTHON=python3.12 or the path of a supported interpreter" >&2; \
		exit 1; }
endef

$(TOOLS)/bin/uv: $(UV_PIN)
	$(check_python)
	@echo "uv is not on PATH: installing the pinned uv into $(TOOLS)"
	@"$$($(base_python))" -m venv $(TOOLS) && $(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check \
		--require-hashes --no-deps -r $(UV_PIN) || { \
		echo "error: could not install uv from the package index (see above); install uv yourself (e.g. pipx install uv), or check your proxy" >&2; \
		exit 1; }

$(STAMP): requirements.lock pyproject.toml
	$(check_python)
	@test -x "$(UV)" || $(MAKE) --no-print-directory "$(UV)"
	@echo "$(UV) venv --clear --python $$($(base_python)) $(VENV)"
	@$(UV) venv --quiet --clear --python "$$($(base_python))" $(VENV)
	$(UV) pip sync --quiet --compile-bytecode --python $(PY) --require-hashes requirements.lock
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	@$(PY) -m mlpipeline.commands.venvpath
	$(PY) -m mlpipeline.commands.plots_template --out $(PLOTS_TEMPLATE)
	@touch $@

# The service's packages (FastAPI, uvicorn) on top of the pipeline's; the dev group has them too.
$(SERVE_STAMP): $(STAMP) requirements-serve.lock
	@test -x "$(UV)" || $(MAKE) --no-print-directory "$(UV)"
	$(UV) pip install --quiet --compile-bytecode --python $(PY) --require-hashes -r requirements-serve.lock
	@touch $@

# The Dask engine's packages on top of the pipeline's (params.yaml engine.name: dask); the dev group has them too.
$(DASK_STAMP): $(STAMP) requirements-dask.lock
	@test -x "$(UV)" || $(MAKE) --no-print-directory "$(UV)"
	$(UV) pip install --quiet --compile-bytecode --python $(PY) --require-hashes -r requirements-dask.lock
	@touch $@

$(DEV_STAMP): $(STAMP) requirements-dev.lock
	$(UV) pip sync --quiet --compile-bytecode --python $(PY) --require-hashes requirements-dev.lock
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	@$(PY) -m mlpipeline.commands.venvpath
	@touch $@ $(SERVE_STAMP) $(DASK_STAMP)  # the dev group includes the serve and dask groups

# Written once; a hook that is already there (yours, or ours) is left as it is.
$(GIT_HOOK): | $(STAMP)
	@$(PY) -m mlpipeline.commands.githooks

# DVC's default page loads Vega from a CDN; this one inlines it (see src/mlpipeline/commands/plots_template.py).
$(PLOTS_TEMPLATE):
	$(PY) -m mlpipeline.commands.plots_template --out $@

repro: setup ## Pull the data, run the pipeline (dvc repro), print metrics and the gate verdict
	@$(PY) -m mlpipeline.commands.settings
	$(dask_if_asked)
	$(call dvc_pull)
	@# dvc repro, then a summary of whatever it did (a failed gate included); the exit code is repro's.
	@$(PY) -m mlpipeline.commands.repro

test: setup-dev ## Run the tests but the slow tier, on every core [MARK="fast or integration"] [WORKERS=auto]
	$(BIN)/pytest $(xdist) -m "$(MARK)"

test-all: setup-dev ## Run every tier: make test plus the slow one (container, benchmarks, generated projects)
	$(BIN)/pytest $(xdist)

lint: setup-dev ## Check code style (ruff lint and format check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup-dev ## Fix what ruff can fix and format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

plots: setup $(PLOTS_TEMPLATE) ## Render every plot to dvc_plots/index.html (opens offline)
	$(DVC) plots show

ci: setup ## What a pull request runs: pull, repro, then every rule vs BASE (paired), always a report [FULL=1 [DASK_ADDRESS=...]]
	@$(PY) -m mlpipeline.commands.settings
	$(dask_if_asked)
	@$(PY) -m mlpipeline.commands.ci_preflight --base "$(BASE)"
	$(call dvc_pull,$(PULL_FLAGS))
	@# The gate runs whatever repro did, so a breach still gets its full report; it exits non-zero then.
	@# FULL=1 runs DVC's experiment with every row (params.yaml shows it), so the lock is not compared.
	@$(if $(FULL),$(call every_row),$(PY) -m mlpipeline.commands.repro --no-summary); code=$$?; \
		$(PY) -m mlpipeline.commands.ci_gate --base "$(BASE)" --repro-exit $$code $(if $(FULL),--full-run) $(if $(DASK_ADDRESS),--dask-address "$(DASK_ADDRESS)")

reprocheck: setup ## After make repro: fail, saying why, unless the committed dvc.lock is what the pipeline produced
	@$(PY) -m mlpipeline.commands.reprocheck

summary-md: ## Print the gate report (or the metrics) as Markdown, for CI job summaries
	@$(PY) -m mlpipeline.commands.summary --markdown

remote: setup ## Set the team's DVC remote and check this machine can write to it: URL=s3://...|/shared/folder [ENDPOINT=...]
	@$(PY) -m mlpipeline.commands.remote --url "$(URL)" --endpoint "$(ENDPOINT)"

doctor: setup ## Check what the project needs for clones and CI: the DVC remote, its access, GitHub's secrets, environment, variables
	@$(PY) -m mlpipeline.commands.doctor

push: setup ## Push data and models (and any run-cache) to the default remote
	@$(PY) -m mlpipeline.commands.sync push

refresh-data: setup ## Bring the raw data up to date (dvc update, data.source, or as it is) and track it
	@# The hook: a project that fetches its data another way (a query, an export) does it here,
	@# leaving the new file at data.raw in params.yaml, before the line below tracks it.
	$(PY) -m mlpipeline.commands.refresh

retrain: setup ## Full retrain on all rows (ignores split.sample_fraction; params.yaml stays as it is), then the gate [DASK_ADDRESS=...]
	@$(PY) -m mlpipeline.commands.settings
	$(dask_if_asked)
	$(call dvc_pull)
	@$(call every_row,--force); $(PY) -m mlpipeline.commands.summary --after-repro $$?

use-data: setup ## Adopt your data: DATA=file.csv (or a folder of partitions) TARGET=column [TASK=...] [ID=column]
	@test -n "$(DATA)" -a -n "$(TARGET)" || { echo "usage: make use-data DATA=file.csv|folder TARGET=column" >&2; exit 2; }
	$(PY) -m mlpipeline.commands.usedata --data "$(DATA)" --target "$(TARGET)" $(if $(TASK),--task "$(TASK)",) $(if $(ID),--id "$(ID)",)

update-data: setup ## A newer file of the adopted data: DATA=file.csv (keeps params and contract; checks it first)
	@test -n "$(DATA)" || { echo "usage: make update-data DATA=file.csv" >&2; exit 2; }
	$(PY) -m mlpipeline.commands.usedata --update --data "$(DATA)"

release: setup ## Register the model at HEAD (clean tree, on gate.base, full gate passes) [NOTES=...] [FORCE=why] [ALLOW_UNPAIRED=why]
	$(PY) -m mlpipeline.commands.registry release --notes "$(NOTES)" $(if $(VERSION),--version $(VERSION),) $(push_flag) --force-reason "$(FORCE)" --allow-unpaired "$(ALLOW_UNPAIRED)"

promote: setup ## Assign a stage to a version: VERSION=vX.Y.Z STAGE=prod|staging
	@test -n "$(VERSION)" -a -n "$(STAGE)" || { echo "usage: make promote VERSION=vX.Y.Z STAGE=prod" >&2; exit 2; }
	$(PY) -m mlpipeline.commands.registry promote --version "$(VERSION)" --stage "$(STAGE)" $(push_flag)

rollback: setup ## Give a stage back to the version that held it before: STAGE=prod
	@test -n "$(STAGE)" || { echo "usage: make rollback STAGE=prod" >&2; exit 2; }
	$(PY) -m mlpipeline.commands.registry rollback --stage "$(STAGE)" $(push_flag)

experiments: setup ## DVC experiments (dvc exp run --queue -S ...) with each one's gate verdict and metrics first
	@$(PY) -m mlpipeline.commands.experiments

models: setup ## List model versions, their stages, metrics and notes
	@$(PY) -m mlpipeline.commands.registry models

predict: setup ## Predict: INPUT=in.csv OUTPUT=out.csv [STAGE=prod | VERSION=vX.Y.Z]
	@test -n "$(INPUT)" -a -n "$(OUTPUT)" || { echo "usage: make predict INPUT=in.csv OUTPUT=out.csv [STAGE=prod]" >&2; exit 2; }
	$(PY) -m mlpipeline.commands.predict --input "$(INPUT)" --output "$(OUTPUT)" --stage "$(STAGE)" --version "$(VERSION)"

serve: $(SERVE_STAMP) ## Serve a model over HTTP: [STAGE=prod | VERSION=vX.Y.Z] [PORT=8000] [HOST=127.0.0.1] [WORKERS=1] [LOG=served.jsonl]
	$(PY) -m mlpipeline.commands.serve --stage "$(STAGE)" --version "$(VERSION)" --host "$(HOST)" --port "$(PORT)" --workers "$(serve_workers)" --log "$(LOG)"

monitor: setup ## Drift and quality of a batch vs the model's profile: INPUT=batch.csv [STAGE=prod | VERSION=vX.Y.Z]
	@test -n "$(INPUT)" || { echo "usage: make monitor INPUT=batch.csv [STAGE=prod]" >&2; exit 2; }
	$(PY) -m mlpipeline.commands.monitor --input "$(INPUT)" --stage "$(STAGE)" --version "$(VERSION)"

image: $(SERVE_STAMP) ## Container image of a model: [VERSION=vX.Y.Z | STAGE=prod] [IMAGE=name:tag] [IMAGE_BASE=...] [WHEELS=dir]
	$(PY) -m mlpipeline.commands.image --stage "$(STAGE)" --version "$(VERSION)" --tag "$(IMAGE)" --base "$(IMAGE_BASE)" --wheels "$(WHEELS)"

new-project: $(DEV_STAMP) ## Start a project from this template (copier): DEST=../my-model [DATA=file.csv TARGET=column] [ANSWERS="k=v ..."] [DEFAULTS=1]
	@test -n "$(DEST)" || { echo "usage: make new-project DEST=../my-model [DATA=file.csv TARGET=column] [TEMPLATE_REF=v1.2.0]" >&2; exit 2; }
	$(PY) -m mlpipeline.commands.newproject --dest "$(DEST)" --data "$(DATA)" --target "$(TARGET)" \
		--answers "$(ANSWERS)" --ref "$(TEMPLATE_REF)" $(if $(DEFAULTS),--defaults)

detach: setup ## Cloned the template instead of make new-project? Drop its template-only files (copier.yml, its tests, benchmarks)
	@$(PY) -m mlpipeline.commands.detach

bench: $(SERVE_STAMP) $(DASK_STAMP) ## Benchmark: pipeline vs script, DVC overhead, scale; gate; serving; monitoring; engines (docs/bench/*.json)
	@test -d benchmarks || { echo "make bench measures the template on its bundled sample; run it in the template's repository" >&2; exit 2; }
	$(PY) benchmarks/machine.py --out docs/bench/machine.json
	$(PY) benchmarks/run.py --reps $(BENCH_REPS) --scales "$(BENCH_SCALES)" --out docs/bench/pipeline.json
	$(PY) benchmarks/gate.py --reps $(BENCH_REPS) --out docs/bench/gate.json
	$(PY) benchmarks/serve.py --reps $(BENCH_REPS) --load-seconds $(BENCH_LOAD_SECONDS) --out docs/bench/serve.json
	$(PY) benchmarks/monitor.py --out docs/bench/monitor.json
	$(PY) benchmarks/engine.py --rows $(BENCH_ENGINE_ROWS) --out docs/bench/engine.json
	@echo "bench: figures in docs/bench/*.json; docs/benchmarks.md shows them (make docs); commit them to publish"

lock: ## Re-resolve the four locks from pyproject.toml (universal, hashed), keeping pins that still fit
	@test -x "$(UV)" || $(MAKE) --no-print-directory "$(UV)"
	$(UV) pip compile pyproject.toml --group dev --universal --generate-hashes --python-version 3.11 --quiet -o requirements-dev.lock
	$(UV) pip compile pyproject.toml --group project --universal --generate-hashes --python-version 3.11 --quiet -c requirements-dev.lock -o requirements.lock
	$(UV) pip compile --group pyproject.toml:serve --universal --generate-hashes --python-version 3.11 --quiet -c requirements-dev.lock -o requirements-serve.lock
	$(UV) pip compile --group pyproject.toml:dask --universal --generate-hashes --python-version 3.11 --quiet -c requirements-dev.lock -o requirements-dask.lock

docs: setup-dev ## Build the documentation site into build/site, strictly: a warning, a broken link or anchor, an unknown make target fails it
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	@echo "docs: built build/site/index.html (open it, or serve: $(BIN)/mkdocs serve)"

clean: ## Remove the virtual environment and generated reports
	rm -rf $(VENV) $(TOOLS) reports dvc_plots build
