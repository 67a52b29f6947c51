# Python binding (bindings-python/) and the FastAPI example (examples/fastapi/).
#
# `make test-python` builds a fresh virtualenv at $(PY_VENV), installs the
# binding exactly as a user would (`pip install ./bindings-python`, which
# builds it with maturin), type-checks the example and the test helpers with
# `mypy --strict`, and runs both pytest suites (with a PostgreSQL database of
# its own, scripts/postgres.sh, for the two-services-on-one-store tests; the
# wheel has the `postgres` feature, as the released one does).

PYTHON3 ?= python3
PY_VENV ?= $(ROOT)/.venv
# Cargo profile of the wheel built for the tests: `dev` reuses the debug
# artifacts of `make test-rust`; `make test-python PY_BUILD_PROFILE=release`
# builds what `pip install` gives users.
PY_BUILD_PROFILE ?= dev
PY_PIP := $(PY_VENV)/bin/python -m pip --disable-pip-version-check


.PHONY: test-python python-venv python-wheel

# A fresh venv every time (Debian needs python3-venv for `-m venv`).
python-venv:
	rm -rf $(PY_VENV)
	$(PYTHON3) -m venv $(PY_VENV) || { \
	  echo "python3 -m venv failed: installing python3-venv" >&2; \
	  apt-get update -qq && apt-get install -y -qq python3-venv && \
	  rm -rf $(PY_VENV) && $(PYTHON3) -m venv $(PY_VENV); }

python-wheel: python-venv
	MATURIN_PEP517_ARGS="--profile $(PY_BUILD_PROFILE) --features claude-jobs/postgres" $(PY_PIP) install ./bindings-python
	$(PY_PIP) install -q -r bindings-python/requirements-test.txt

test-python: python-wheel
	$(CARGO) build -p fake-claude -p mock-anthropic
	cd examples/fastapi && $(PY_VENV)/bin/mypy --strict .
	cd bindings-python/tests && $(PY_VENV)/bin/mypy --strict .
	cd examples/python && $(PY_VENV)/bin/mypy --strict .
	@set -e; pg="$$(scripts/postgres.sh fresh claude_jobs_services)"; \
	trap 'scripts/postgres.sh stop' EXIT; echo "PostgreSQL for the two-services tests: $$pg"; \
	CLAUDE_JOBS_TEST_PG_URL="$$pg" REAL_CLAUDE_BIN="$$(bash scripts/install-claude.sh | tail -n1)" \
	  $(PY_VENV)/bin/python -m pytest -q -rs -p no:cacheprovider --timeout=120 \
	  -o asyncio_default_fixture_loop_scope=function \
	  bindings-python/tests examples/fastapi/tests
