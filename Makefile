# One command surface. `make test` works on a fresh clone: it creates .venv and installs everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# checkov lives apart: its pinned dependencies clash with ours (constraints-checkov.txt).
CHECKOV_VENV := .venv-checkov
# So does the AWS CLI the tests run the project's aws commands with (constraints-awscli.txt).
AWSCLI_VENV := .venv-awscli
STAMP := $(VENV)/.installed-stamp
ENV ?= dev
PORT ?= 8000
# The Service (Fargate) stack is synthesized only with an image tag; the snapshots use this one.
SNAPSHOT_TAG := snapshot
# An environment's templates as the operators' commands read them (example values allowed: no deploy).
synth_into = rm -rf cdk.out.$(1) && cdk synth -c env=$(1) -c image_tag=$(SNAPSHOT_TAG) -c allow_placeholders=true -q -o cdk.out.$(1)
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: help setup browser audit unit test lint synth diff snapshots preflight dashboard-picture image bench load burst demo serve redrive reprocess cost clean lock-wheels

# `make` alone, or `make help`: every target and what it does (the "##" text on its line).
help:  ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)$$/\1\t\2/' | \
		awk -F'\t' '{ printf "  make %-18s %s\n", $$1, $$2 }'

# Each step says what it installs: the first run takes a few minutes and should not look hung. pip's
# "Location … is ignored" warnings (this machine's pip configuration) are filtered; its exit status is kept.
$(STAMP): pyproject.toml constraints.txt constraints-checkov.txt constraints-awscli.txt lambdas/*/pyproject.toml local/pyproject.toml ops/pyproject.toml \
		package.json package-lock.json Makefile
	@echo "setup 1/6: Python virtualenv in $(VENV)"
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@set -o pipefail; $(BIN)/python -m pip install -q --disable-pip-version-check --upgrade "pip>=24,<27" 2>&1 \
		| { grep -v "^WARNING: Location" || true; }
	@echo "setup 2/6: Python packages from constraints.txt (CDK, Pillow, FastAPI, moto...; ~2 min at first)"
	@set -o pipefail; $(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt \
		-e ./lambdas/contract -e ./lambdas/resize_core -e ./lambdas/resize_worker \
		-e './lambdas/upload_api[server]' -e ./local -e ./ops -e '.[dev]' 2>&1 | { grep -v "^WARNING: Location" || true; }
	@echo "setup 3/6: checkov in $(CHECKOV_VENV) (~30 s at first)"
	@test -d $(CHECKOV_VENV) || $(PYTHON) -m venv $(CHECKOV_VENV)
	@set -o pipefail; $(CHECKOV_VENV)/bin/python -m pip install -q --disable-pip-version-check \
		-c constraints-checkov.txt checkov 2>&1 | { grep -v "^WARNING: Location" || true; }
	@echo "setup 4/6: the AWS CLI in $(AWSCLI_VENV), for the tests of the project's aws commands (~15 s)"
	@test -d $(AWSCLI_VENV) || $(PYTHON) -m venv $(AWSCLI_VENV)
	@set -o pipefail; $(AWSCLI_VENV)/bin/python -m pip install -q --disable-pip-version-check \
		-c constraints-awscli.txt awscli 2>&1 | { grep -v "^WARNING: Location" || true; }
	@echo "setup 5/6: the pinned CDK CLI and Node 24 from package-lock.json (npm ci)"
	@npm ci --no-audit --no-fund --loglevel=error
	@echo "setup 6/6: Chromium and ChromeDriver for the upload-page test (Debian packages)"
	@$(MAKE) --no-print-directory browser
	@touch $(STAMP)
	@echo "setup: done"

# Debian's Chromium and ChromeDriver for the upload-page test (a browser download would fail here).
browser:  ## Chromium and ChromeDriver for the upload-page test (Debian packages)
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium chromium-driver >/dev/null; \
	else \
		echo "the upload-page test needs: sudo apt-get install chromium chromium-driver (it fails without them)"; \
	fi

setup: $(STAMP)  ## install everything: virtualenvs, the pinned CDK CLI, the browser (once; a few minutes)

lint: setup  ## ruff, ruff format --check, mypy (strict), hadolint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint containers/api/Dockerfile

# The fast lane while working: lint + every test not marked slow (no synth, asset build, browser, e2e).
# --strict: a package the vulnerability service cannot answer for fails the audit instead of passing it
# unexamined (this machine reaches PyPI's index but not its per-release JSON nor OSV: it fails here).
audit: setup  ## known vulnerabilities in every installed dependency (pip-audit; needs PyPI's JSON API)
	$(BIN)/pip-audit --strict --skip-editable --progress-spinner off

unit: lint  ## the fast lane: lint and every test not marked slow
	$(BIN)/pytest -m "not slow"

test: lint  ## everything CI runs: lint and the whole test suite
	$(BIN)/pytest

synth: setup  ## cdk synth ENV (staging/prod refuse example values: make preflight)
	cdk synth -c env=$(ENV) -q

# What changed against the committed snapshot, offline: cdk diff of each stack against it.
lock-wheels: setup  ## after changing a pin in constraints.txt: the sha256 of every wheel a Lambda asset installs
	$(BIN)/python -m photo_ops.lock_wheels

diff: setup  ## cdk diff of ENV's templates against the committed snapshots, offline
	$(call synth_into,$(ENV))
	$(BIN)/python -m tests.stacks.snapshots mask cdk.out.$(ENV) cdk.out.$(ENV).masked
	for stack in $$(ls cdk.out.$(ENV).masked/*.template.json | xargs -n1 basename | sed 's/.template.json//'); do \
		cdk diff --app cdk.out.$(ENV).masked --exclusively \
			--template tests/stacks/snapshots/$(ENV)/$$stack.template.json $$stack; \
	done

# Accept the current templates as the new snapshots (review `make diff` first).
snapshots: setup  ## accept the current templates as the snapshots (after make diff)
	for env in dev staging prod; do \
		$(call synth_into,$$env) && \
		$(BIN)/python -m tests.stacks.snapshots update $$env cdk.out.$$env; \
	done
	$(BIN)/python -m photo_ops.dashboard_picture cdk.out.prod/Operations.template.json docs/dashboard.png

# Build the API image and push it into ENV's ECR repository (needs AWS credentials and a Docker engine),
# then `npx cdk deploy -c env=ENV -c image_tag=<printed tag> Service` rolls it out.
image: setup  ## build the API image (arm64) and push it to ENV's ECR repository
	PYTHON=$(BIN)/python containers/api/push-image.sh $(ENV)

# Before a deploy: a checklist of what ENV's config and account still lack (exits 1 on any ✗).
# IMAGE_TAG=<tag> also checks that the Service stack's image is in ECR.
preflight: setup  ## ENV's deploy checklist: config placeholders, certificates, account (IMAGE_TAG=…)
	$(BIN)/python -m photo_ops.preflight --env $(ENV) $(if $(IMAGE_TAG),--image-tag $(IMAGE_TAG),)

# Replay ENV's dead-lettered upload events into its queue (SQS message move task; AWS credentials needed).
redrive: setup  ## replay ENV's dead-lettered upload events (QUEUE=housekeeping|alternates: theirs) into their queue
	$(BIN)/python -m photo_ops.redrive --env $(ENV) --queue $(or $(QUEUE),upload-events)

# The dashboard's picture in docs/operations.md, drawn from prod's synthesized dashboard.
dashboard-picture: setup  ## redraw docs/dashboard.png from prod's synthesized dashboard
	$(call synth_into,prod)
	$(BIN)/python -m photo_ops.dashboard_picture cdk.out.prod/Operations.template.json docs/dashboard.png

# What ENV costs under a scenario: the bill at month 1 and 12, delivery plans, the levers, then idle, per
# million images and the API runtime (charts into .cost/, or docs/ with DOCS=1). No network.
cost: setup  ## ENV's bill under SCENARIO (ops/photo_ops/scenarios.toml) at month 1 and 12; DOCS=1: charts into docs/
	$(call synth_into,$(ENV))
	$(BIN)/python -m photo_ops.report --env $(ENV) --templates cdk.out.$(ENV) $(if $(SCENARIO),--scenario $(SCENARIO)) $(if $(DOCS),--docs)

# Re-make every original's variants with the environment's current spec: in AWS on its Step Functions
# Distributed Map, or with LOCAL=1 on a running `make serve` (the default for dev; LOCAL= for dev in AWS).
# ARGS="--owner … --before … --dry-run".
LOCAL ?= $(if $(filter dev,$(ENV)),1,)
reprocess: setup  ## re-make every variant with ENV's current spec (ARGS="--owner … --dry-run")
	$(if $(LOCAL),$(BIN)/python -m local_runner.reprocess --env $(ENV) $(ARGS),$(BIN)/python -m photo_ops.reprocess --env $(ENV) $(ARGS))

bench: setup  ## every benchmark (minutes; results go in docs/benchmarks.md with the date)
	@set -o pipefail; $(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[bench]' 2>&1 \
		| { grep -v "^WARNING: Location" || true; }
	$(BIN)/python bench/resize_bench.py
	$(BIN)/python bench/budget_bench.py
	$(BIN)/python bench/signing_bench.py
	$(BIN)/python bench/crop_bench.py
	$(BIN)/python bench/receipt_bench.py
	$(BIN)/python bench/formats_bench.py
	$(BIN)/python bench/jpeg_options_bench.py
	$(BIN)/python bench/cold_start_bench.py
	$(BIN)/python bench/load_bench.py

# The load benchmark's parts on their own (bounded: fixed seconds per cell, a fixed number of uploads).
load: setup  ## the API and Lambda-like load benchmarks
	$(BIN)/python bench/load_bench.py --only api
	$(BIN)/python bench/load_bench.py --only lambda

burst: setup  ## the upload burst benchmark (N=500 uploads; FAULTS=0.05: failing requests, a killed worker)
	$(BIN)/python bench/load_bench.py --only burst $(if $(N),--burst $(N),) $(if $(FAULTS),--faults $(FAULTS),)

# The whole pipeline on loopback: S3/SQS emulator, API, resize worker, 20 uploads, contact sheet.
demo: setup  ## the whole pipeline on loopback: 20 photos through presigned POSTs, a contact sheet
	$(BIN)/python -m local_runner.demo

# The same servers plus the upload page at http://127.0.0.1:$(PORT)/ (PORT=8000 by default), until Ctrl-C.
serve: setup  ## the local pipeline and the upload page at http://127.0.0.1:8000/ (PORT=…) until Ctrl-C
	$(BIN)/python -m local_runner.serve --port $(PORT)

clean:  ## remove every virtualenv, cdk.out and cache
	rm -rf cdk.out cdk.out.* .venv .venv-checkov .venv-awscli node_modules .mypy_cache .ruff_cache .pytest_cache
