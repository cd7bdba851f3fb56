# Two commands set everything up on a fresh machine: `make dev` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
# `sam build` needs an interpreter matching the python3.13 runtime; pyenv provides it here.
SAM_ENV := SAM_CLI_TELEMETRY=0 PYENV_VERSION=$(shell pyenv version-name 2>/dev/null || echo system):3.13.0
NAME ?= operator

.PHONY: help install dev demo test unit unit-future integration lint format validate build bench bench-deliveries api-key biway-callback redrive-events ci clean

help:
	@echo "make dev        run the API, DynamoDB Local and the provider simulators on 127.0.0.1"
	@echo "make demo       scripted scenario: presence webhook, Bi-way message read, EventBridge events"
	@echo "make test       unit, contract and integration tests"
	@echo "make unit-future  unit tests with the clock 400 days ahead (needs faketime)"
	@echo "make lint       ruff and mypy"
	@echo "make validate   sam validate --lint"
	@echo "make build      sam build (Python 3.13)"
	@echo "make bench      cold start, fan-out, callback and webhook delivery benchmarks"
	@echo "make bench-deliveries [QUICK=1]   webhook delivery latency and throughput on the local stack"
	@echo "make redrive-events   re-process the events processor's dead-letter queue (TABLE_NAME, EVENTS_DEAD_LETTER_QUEUE_URL, EVENT_BUS_NAME)"
	@echo "make api-key NAME=ops   create an API key in the table the environment points to"
	@echo "make biway-callback API_URL=https://... [CONNECTION=default]   register our callback URL with Bi-way"

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

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

validate: $(SAM_VENV)/.installed
	$(SAM_ENV) $(SAM) validate --lint

build: $(SAM_VENV)/.installed
	$(SAM_ENV) $(SAM) build

bench: install
	$(PY) -m benchmarks.cold_start
	$(PY) -m benchmarks.fanout
	$(PY) -m benchmarks.callbacks
	$(PY) -m benchmarks.deliveries

bench-deliveries: install
	$(PY) -m benchmarks.deliveries $(if $(QUICK),--quick)

api-key: $(VENV)/.installed
	$(PY) -m local.api_key --name "$(NAME)"

# After a deploy, once per Bi-way connection (AWS credentials from your profile).
biway-callback: $(VENV)/.installed
	$(PY) -m tools.biway_callback --api-url "$(API_URL)" --connection "$(or $(CONNECTION),default)"

# After a failure of the events processor (its DLQ has messages); AWS credentials from your profile.
redrive-events: $(VENV)/.installed
	$(PY) -m tools.redrive_events

ci: lint validate test build

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam node_modules .pytest_cache .mypy_cache .ruff_cache
