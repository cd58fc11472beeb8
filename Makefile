# One command to run, one to test; both set up everything they need on a fresh machine.
SHELL := /bin/bash
# .python-version selects 3.13 (and only 3.13) through pyenv; Lambda runs python3.13 too.
PYTHON ?= $(shell command -v python3.13 2>/dev/null || echo python3)
VENV := .venv
SAM_VENV := .venv-sam
PIP_QUIET := --quiet --disable-pip-version-check
# The browser tests drive Debian's Chromium (browsers downloaded by tools cannot be fetched here).
CHROMIUM := /usr/bin/chromium
# pytest runs on both cores by default; tests of one file share a worker (their module fixtures).
PYTEST_WORKERS ?= 2
COVERED := --cov=layers/common/events_core --cov=functions --cov=tools/eventsapi --cov=clients/eventsapi_client/eventsapi_client --cov-report=
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install run test lint typecheck validate pytest unit integration e2e browser build \
        fuzz soak bench deployed lock clean wheel

help:
	@echo "make install      .venv on Python 3.13 with the pinned tree (make run and make test do it too)"
	@echo "make run          the whole service on http://127.0.0.1:3000 (console: /console; AWS emulator on :5000)"
	@echo "                  other ports: .venv/bin/eventsapi run --port 3320 --moto-port 5320 (prints what to export)"
	@echo "make test         lint, type check, template checks, sam build, every test tier, coverage"
	@echo "make unit         tests/unit         pure logic, milliseconds"
	@echo "make integration  tests/integration  the template on in-process moto, real HTTP receivers"
	@echo "make e2e          tests/e2e          against eventsapi run (what make run starts), bounded proofs"
	@echo "make browser      tests/browser      the console in headless Chromium"
	@echo "make deployed STACK=name [REGION=r] [RECEIVER_URL=https://…]   tests/deployed against a real stack"
	@echo "make build        sam build (deploy with: sam deploy --guided)"
	@echo "make wheel        dist/eventsapi_publisher-*.whl and dist/eventsapi_client-*.whl: the producers' and developers' packages"
	@echo "make fuzz         schemathesis and hostile shapes against the local stack, every kind of API key"
	@echo "make soak         no-loss soak under faults and hostile receivers, then recovery through the API"
	@echo "make bench        every benchmark, one table; writes docs/cost.md and docs/scale.md"
	@echo "make lint         ruff check and ruff format --check"
	@echo "make typecheck    mypy on events_core, tools/eventsapi and every functions/*/app.py"
	@echo "make validate     the real SAM transform (defaults + every conditional parameter set), cfn-lint on each"
	@echo "                  transformed template, the upgrade check against deploy/released/ (eventsapi validate)"
	@echo "                  a deploy rehearsed on an emulator of its own: .venv/bin/eventsapi deploy rehearse --param AlarmEmail=<you>"
	@echo "                  at a release: .venv/bin/eventsapi deploy release (commit deploy/released/template.json)"
	@echo "make pytest       every test tier with coverage (what make test runs after the checks)"
	@echo "make lock         re-pin requirements/dev.txt from requirements/dev.in"
	@echo "make clean        remove .venv, .venv-sam, .aws-sam and the caches"

$(VENV)/.installed: requirements/dev.txt layers/common/requirements.in pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 13) and "Python 3.13 is required (pyenv: python3.13)")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_QUIET) -r requirements/dev.txt
	$(VENV)/bin/pip install $(PIP_QUIET) --no-deps -e .
	@touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install $(PIP_QUIET) -r requirements/sam.txt
	@touch $@

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "the browser tests need Chromium at $(CHROMIUM) (Debian: apt-get install chromium)"; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(VENV)/bin/eventsapi run

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Every handler module is called app.py, as Lambda wants: one mypy run each, sharing the cache.
typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy layers/common/events_core tools/eventsapi clients/eventsapi_client/eventsapi_client
	@for handler in functions/*/app.py; do $(VENV)/bin/mypy --no-error-summary "$$handler" || exit 1; done
	@echo "mypy: functions/*/app.py clean"

# sam validate --lint only runs cfn-lint on the SAM source (cfn-lint 1.x no longer runs the transform):
# the real check is the transform CloudFormation runs, done by eventsapi validate.
validate: $(VENV)/.installed
	$(VENV)/bin/eventsapi validate

pytest: $(VENV)/.installed $(CHROMIUM)
	$(VENV)/bin/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder $(COVERED)
	@echo "coverage of events_core, functions, tools and the client (unit, integration and in-process e2e): $$($(VENV)/bin/coverage report --format=total)%"

test: lint typecheck validate build pytest

unit integration e2e: $(VENV)/.installed
	$(VENV)/bin/python -m pytest tests/$@

browser: $(VENV)/.installed $(CHROMIUM)
	$(VENV)/bin/python -m pytest tests/browser

# Needs AWS credentials for the stack (tests/deployed/conftest.py lists what they must allow); sam
# (.venv-sam) deploys the test receiver unless RECEIVER_URL is given.
deployed: $(VENV)/.installed $(SAM_VENV)/.installed
	@test -n "$(STACK)" || { echo "usage: make deployed STACK=<stack name> [REGION=<region>] [RECEIVER_URL=<public https receiver>]"; exit 2; }
	$(VENV)/bin/python -m pytest tests/deployed -m deployed --stack "$(STACK)" \
	  $(if $(REGION),--region "$(REGION)") $(if $(RECEIVER_URL),--receiver-url "$(RECEIVER_URL)")

build: $(SAM_VENV)/.installed
	PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" sam build

# The producers' package; its catalogue is the layer's own (a symlink here, files in the wheel).
wheel: $(VENV)/.installed
	rm -rf publisher/build publisher/*.egg-info
	$(VENV)/bin/pip wheel $(PIP_QUIET) --no-deps --no-build-isolation -w dist ./publisher
	rm -rf publisher/build publisher/*.egg-info
	rm -rf clients/eventsapi_client/build clients/eventsapi_client/*.egg-info
	$(VENV)/bin/pip wheel $(PIP_QUIET) --no-deps --no-build-isolation -w dist ./clients/eventsapi_client
	rm -rf clients/eventsapi_client/build clients/eventsapi_client/*.egg-info

fuzz: $(VENV)/.installed
	$(VENV)/bin/eventsapi fuzz --examples 100

soak: $(VENV)/.installed
	$(VENV)/bin/eventsapi soak --events 300

bench: $(VENV)/.installed
	$(VENV)/bin/python -m bench.run_all

lock:
	$(VENV)/bin/pip install $(PIP_QUIET) -r requirements/dev.in
	{ echo '# Generated by `make lock` from requirements/dev.in: the whole pinned tree.'; \
	  $(VENV)/bin/pip freeze --exclude-editable | grep -v '^-e'; } > requirements/dev.txt

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .ruff_cache .mypy_cache .coverage dist
