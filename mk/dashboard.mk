# Dashboard (issue #9): the web page of the FastAPI example (examples/fastapi/dashboard.py).
#
# make dashboard-build   npm ci + vite build in dashboard/ → dashboard/dist (served by
#                        FastAPI as static files: running the service needs no Node)
# make dashboard         the service with the dashboard on http://$(DASHBOARD_HOST):$(DASHBOARD_PORT)/:
#                        the real API when ANTHROPIC_API_KEY is set, else the bundled mock
#                        (target/debug/mock-anthropic); it says which
# make test-dashboard    the dashboard's API tests (pytest, fake CLI), then the browser suite
#                        (node --test + playwright-core in Debian's headless Chromium, real
#                        pinned CLI + mock); screenshots in test-output/dashboard/
#
# The Python side uses the venv of mk/python.mk ($(PY_VENV)); it is built (target
# python-wheel) when it does not have claude_jobs yet.

DASHBOARD_HOST ?= 127.0.0.1
DASHBOARD_PORT ?= 8000
DASHBOARD_DATA_DIR ?= $(ROOT)/dashboard-data
PY_VENV ?= $(ROOT)/.venv
CHROMIUM_BIN ?= /usr/bin/chromium
NPM_CI := npm ci --no-audit --no-fund --loglevel=error

DASHBOARD_SOURCES := $(wildcard dashboard/src/*) dashboard/index.html dashboard/vite.config.js dashboard/package.json


.PHONY: dashboard dashboard-build dashboard-venv dashboard-chromium test-dashboard

# `npm install` only if the lock does not suit this npm.
dashboard/node_modules/.package-lock.json: dashboard/package-lock.json
	cd dashboard && { $(NPM_CI) || npm install --no-audit --no-fund; }

dashboard/dist/index.html: $(DASHBOARD_SOURCES) dashboard/node_modules/.package-lock.json
	cd dashboard && npm run build

dashboard-build: dashboard/dist/index.html

dashboard-venv:
	@if [ -x $(PY_VENV)/bin/python ] && $(PY_VENV)/bin/python -c 'import claude_jobs, fastapi, uvicorn' 2>/dev/null; then \
	  echo "dashboard: Python venv $(PY_VENV)"; \
	else echo "dashboard: building the Python venv $(PY_VENV) (make python-wheel)"; $(MAKE) --no-print-directory python-wheel; fi

dashboard-chromium:
	@test -x $(CHROMIUM_BIN) || { echo "dashboard: installing Debian's chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@$(CHROMIUM_BIN) --version 2>/dev/null | head -n1

# The mock (or the real API) is chosen by dashboard.py: --api auto.
dashboard: dashboard-build dashboard-venv
	@set -e; \
	if [ -n "$$ANTHROPIC_API_KEY" ]; then \
	  echo "dashboard: ANTHROPIC_API_KEY is set: jobs use the real Anthropic API"; \
	  if command -v claude >/dev/null 2>&1; then bin="$$(command -v claude)"; else bin="$$(bash scripts/install-claude.sh | tail -n1)"; fi; \
	else \
	  echo "dashboard: ANTHROPIC_API_KEY is not set: jobs use the offline mock API (sample text, no model)"; \
	  $(CARGO) build -q -p mock-anthropic; \
	  bin="$$(bash scripts/install-claude.sh | tail -n1)"; \
	fi; \
	mkdir -p "$(DASHBOARD_DATA_DIR)"; \
	echo "dashboard: starting on http://$(DASHBOARD_HOST):$(DASHBOARD_PORT)/ (Ctrl-C stops it)"; \
	cd examples/fastapi && CLAUDE_BIN="$$bin" CLAUDE_JOBS_DATA_DIR="$(DASHBOARD_DATA_DIR)" \
	  MOCK_ANTHROPIC_BIN="$${CARGO_TARGET_DIR:-$(ROOT)/target}/debug/mock-anthropic" \
	  exec $(PY_VENV)/bin/python dashboard.py --host $(DASHBOARD_HOST) --port $(DASHBOARD_PORT)

examples/fastapi/tests/browser/node_modules/.package-lock.json: examples/fastapi/tests/browser/package-lock.json
	cd examples/fastapi/tests/browser && { $(NPM_CI) || npm install --no-audit --no-fund; }

test-dashboard: dashboard-build dashboard-venv dashboard-chromium examples/fastapi/tests/browser/node_modules/.package-lock.json
	$(CARGO) build -q -p mock-anthropic -p fake-claude
	cd examples/fastapi && $(PY_VENV)/bin/mypy --strict dashboard.py dashboard_cli.py tests/browser/test_dashboard_api.py
	$(PY_VENV)/bin/python -m pytest -q -rs -p no:cacheprovider -o asyncio_default_fixture_loop_scope=function \
	  examples/fastapi/tests/browser/test_dashboard_api.py
	cd examples/fastapi/tests/browser && \
	  REAL_CLAUDE_BIN="$$(bash $(ROOT)/scripts/install-claude.sh | tail -n1)" \
	  DASHBOARD_PYTHON=$(PY_VENV)/bin/python CHROMIUM_BIN=$(CHROMIUM_BIN) \
	  node --test --test-reporter=tap --test-concurrency=1 dashboard.test.mjs
	@echo "test-dashboard: screenshots in test-output/dashboard/"
