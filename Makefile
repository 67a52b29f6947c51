# claude-jobs: `make demo` runs the research → brief → draft workflow,
# `make test` runs every test suite. Both install what they need.
SHELL := /bin/bash
CARGO ?= cargo
ROOT := $(abspath .)
# As root on Linux the cgroup tests must run, never skip.
REQUIRE_CGROUPS ?= $(shell [ "$$(id -u)" = 0 ] && [ "$$(uname -s)" = Linux ] && echo 1 || echo 0)
export CLAUDE_JOBS_REQUIRE_CGROUPS := $(REQUIRE_CGROUPS)

.PHONY: all build test test-rust demo clean

# Each part of the project adds its own targets and appends to TEST_TARGETS.
.DEFAULT_GOAL := all
TEST_TARGETS := test-rust
-include mk/*.mk

all: build

build:
	$(CARGO) build -p claude-jobs --features cli -p fake-claude -p mock-anthropic

test: build
	@set -e; for t in $(TEST_TARGETS); do echo "=== make $$t"; $(MAKE) --no-print-directory $$t; done
	@echo "make test: all suites passed"

test-rust:
	$(CARGO) test -p claude-jobs --features cli
	$(CARGO) test -p fake-claude -p mock-anthropic

clean:
	$(CARGO) clean
