# Two commands set everything up on a fresh machine: `make dev` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
# checkov pins its own boto3 (and networkx, packaging), incompatible with requirements-dev.txt: own venv
CHECKOV_VENV := .venv-checkov
# `sam build` needs an interpreter matching the python3.13 runtime; pyenv provides it here.
SAM_ENV := SAM_CLI_TELEMETRY=0 PYENV_VERSION=$(shell pyenv version-name 2>/dev/null || echo system):3.13.0
NAME ?= operator
# Every module of benchmarks/ but the shared ones (_harness, __init__): a new benchmark is in both targets.
# All run; the target fails afterwards if any of them did (missed its target or broke).
BENCHMARKS := $(sort $(basename $(notdir $(filter-out benchmarks/_%,$(wildcard benchmarks/*.py)))))
run_benchmarks = failed=""; for name in $(BENCHMARKS); do echo "== python -m benchmarks.$$name $(1)"; \
	$(PY) -m benchmarks.$$name $(1) || failed="$$failed $$name"; done; \
	if [ -n "$$failed" ]; then echo "benchmarks that failed:$$failed"; exit 1; fi

.PHONY: help install dev demo test unit unit-future integration fuzz lint format validate checkov build bench bench-quick bench-deliveries api-key api-keys api-key-revoke biway-callback redrive-events secrets ci clean sam-local sam-stack sam-image sam-deps

help:
	@echo "make dev        run the API, DynamoDB Local and the provider simulators on 127.0.0.1"
	@echo "                (CHATBRIDGE_PORT, default 3000; local/connections.json: your real provider accounts)"
	@echo "make demo       scripted scenario, showing its API calls: presence webhook, Bi-way message read, events"
	@echo "make test       unit, contract and integration tests"
	@echo "make unit-future  unit tests with the clock 400 days ahead (needs faketime)"
	@echo "make fuzz       Schemathesis on every operation of the local stack (fixed seed, ~1 min)"
	@echo "make lint       ruff and mypy"
	@echo "make validate   sam validate --lint"
	@echo "make build      sam build (Python 3.13)"
	@echo "make sam-local  sam build, then every events/ file under sam local invoke and a start-api path (Docker)"
	@echo "make sam-stack  the seeded local stack for sam local invoke by hand; writes env.json"
	@echo "make bench      cold start, fan-out, callback and webhook delivery benchmarks"
	@echo "make bench-quick  every benchmark with small sizes (figures printed, targets not enforced; CI)"
	@echo "make checkov    checkov on template.yaml (every skip carries its reason in the template)"
	@echo "make api-key NAME=ops SCOPES=\"registrations:read events:read\" [PROVIDERS=smartregion] [EXPIRES=90d]"
	@echo "                create an API key in the table TABLE_NAME names (printed once; region: AWS_REGION or the profile's)"
	@echo "make api-keys   list the keys (ids, names, scopes, status; never the keys)"
	@echo "make api-key-revoke ID=<key id>   revoke a key (refused by the API within 60 s)"
	@echo "make bench-deliveries [QUICK=1]   webhook delivery latency and throughput on the local stack"
	@echo "make redrive-events   re-process the events processor's dead-letter queue (TABLE_NAME, EVENTS_DEAD_LETTER_QUEUE_URL, EVENT_BUS_NAME)"
	@echo "make biway-callback API_URL=https://... [CONNECTION=default]   register our callback URL with Bi-way"
	@echo "make secrets FILE=connections.json [PREFIX=chatbridge] [DRY_RUN=1]   create/update the secrets of a connections file"

$(VENV)/.installed: requirements-dev.txt layers/chatbridge/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch $@

$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==1.170.0
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

install: $(VENV)/.installed node_modules/.installed

dev: install
	$(PY) -m local.dev

demo: install
	$(PY) -m local.demo

test: install
	$(PY) -m pytest

unit: install
	$(PY) -m pytest tests/unit tests/contract

# The unit suite again with the whole process's clock 400 days ahead (Debian's faketime):
# a test that depends on today's date fails here first, not on main a year from now.
FUTURE ?= +400 days
unit-future: install
	faketime '$(FUTURE)' $(PY) -m pytest -q -p no:cacheprovider tests/unit tests/contract

integration: install
	$(PY) -m pytest tests/integration

fuzz: install
	$(PY) -m tools.api_fuzz

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

validate: $(SAM_VENV)/.installed
	$(SAM_ENV) $(SAM) validate --lint

# --skip-download: no call home for guidelines (CI has no network beyond the package registries)
checkov: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --skip-download --compact --quiet

build: $(SAM_VENV)/.installed
	$(SAM_ENV) $(SAM) build

# The real SAM CLI against a seeded local stack (local/sam/runner.py): starts dockerd if none runs,
# builds the Lambda base image where no registry serves it, then sam build, invoke, start-api.
sam-local: install $(SAM_VENV)/.installed
	$(SAM_ENV) $(PY) -m local.sam.runner --sam $(SAM) $(SAM_LOCAL_ARGS)

bench-deliveries: install
	$(PY) -m benchmarks.deliveries $(if $(QUICK),--quick)

# Docker's engine and debootstrap from Debian's packages, when missing (root; CI and fresh machines).
sam-deps:
	@if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap; \
	else echo "docker.io and debootstrap are installed"; fi

# Only the Lambda base image (cached, pulled, or built with debootstrap).
sam-image: $(VENV)/.installed
	$(PY) -m local.sam.base_image

# The seeded stack bound to the docker bridge, with env.json for `sam local invoke --env-vars env.json`.
sam-stack: install
	$(PY) -m local.dev --seeded --bind docker

bench: install
	@$(call run_benchmarks,)

bench-quick: install
	@$(call run_benchmarks,--quick)

SCOPES ?=
PROVIDERS ?=
EXPIRES ?=
api-key: $(VENV)/.installed
	$(PY) -m local.api_key create --name "$(NAME)" $(foreach s,$(SCOPES),--scope "$(s)") $(foreach p,$(PROVIDERS),--provider "$(p)") $(if $(EXPIRES),--expires "$(EXPIRES)")

api-keys: $(VENV)/.installed
	$(PY) -m local.api_key list

api-key-revoke: $(VENV)/.installed
	$(PY) -m local.api_key revoke "$(ID)"

# After a deploy, once per Bi-way connection (AWS credentials from your profile).
biway-callback: $(VENV)/.installed
	$(PY) -m tools.biway_callback --api-url "$(API_URL)" --connection "$(or $(CONNECTION),default)"

# Before (or after) a deploy: every secret of a connections file (local/connections.example.json), AWS profile.
secrets: $(VENV)/.installed
	$(PY) -m tools.secrets_from_file --file "$(FILE)" $(if $(PREFIX),--prefix "$(PREFIX)") $(if $(DRY_RUN),--dry-run)

# After a failure of the events processor (its DLQ has messages); AWS credentials from your profile.
redrive-events: $(VENV)/.installed
	$(PY) -m tools.redrive_events

ci: lint validate checkov test build

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam node_modules .pytest_cache .mypy_cache .ruff_cache
