# claude-jobs: `make demo` runs the research → brief → draft workflow,
# `make test` runs every test suite. Both install what they need.
SHELL := /bin/bash
CARGO ?= cargo
ROOT := $(abspath .)
# As root on Linux the cgroup tests must run, never skip.
REQUIRE_CGROUPS ?= $(shell [ "$$(id -u)" = 0 ] && [ "$$(uname -s)" = Linux ] && echo 1 || echo 0)
export CLAUDE_JOBS_REQUIRE_CGROUPS := $(REQUIRE_CGROUPS)
# One feature set for every build of the core's tests (test-rust, test-durable,
# test-cgroup-v2), so that they share one build; the PostgreSQL tests skip,
# saying so, unless test-durable gives them a server.
export CORE_TEST_FEATURES ?= cli,test-hooks,postgres
# Incremental compilation only helps edit-compile loops; for the suites it
# costs time and about a third of target/'s size.
export CARGO_INCREMENTAL ?= 0

.PHONY: all build test test-all test-rust demo clean claude-cli

.DEFAULT_GOAL := all
-include mk/*.mk

all: build

build:
	$(CARGO) build -p claude-jobs --features cli -p fake-claude -p mock-anthropic

# `make test` (CI, .ci/run) runs every suite, one after another, each even when
# an earlier one failed, then prints one line per suite and fails if any did.
# CI_TARGETS picks some (`make test CI_TARGETS="test-rust test-python"`).
CI_TARGETS ?= test-rust test-durable test-cgroup-v2 test-python test-node test-dashboard test-dist test-container
#
# With test-dist among them, the release artifacts (make dist: 9 of the 35
# minutes the suites took one after another on 2 cores) are built in the
# background once test-rust is done (its builds keep both cores busy), at the
# lowest CPU and I/O priority: the build takes the CPU the later suites leave
# idle (waiting on jobs, containers, the guest), and a test that wants a core
# gets it first. test-dist waits for that build and prints its log.
# DIST_BACKGROUND=0 turns it off.
DIST_BACKGROUND ?= 1
DIST_BG_LOG := .tools/dist-background.log

test: build
	@failed=""; summary=""; bg=""; want_bg=0; \
	case " $(CI_TARGETS) " in *" test-dist "*) [ "$(DIST_BACKGROUND)" = 1 ] && want_bg=1;; esac; \
	for t in $(CI_TARGETS); do \
	  if [ $$want_bg = 1 ] && [ -z "$$bg" ] && [ "$$t" != test-rust ]; then \
	    mkdir -p .tools; ionice=""; command -v ionice >/dev/null && ionice="ionice -c 3"; \
	    echo "=== make dist in the background (nice 19$${ionice:+, idle I/O}; test-dist waits for it; log: $(DIST_BG_LOG))"; \
	    ( nice -n 19 $$ionice $(MAKE) --no-print-directory dist-if-missing > $(DIST_BG_LOG) 2>&1; \
	      echo "make dist (background): exit $$?" >> $(DIST_BG_LOG) ) & bg=$$!; \
	  fi; \
	  echo "=== make $$t"; s=$$(date +%s); \
	  if [ "$$t" = test-dist ] && [ -n "$$bg" ]; then \
	    wait $$bg; echo "=== make dist (background, ended $$(( $$(date +%s) - s ))s after test-dist began):"; cat $(DIST_BG_LOG); \
	  fi; \
	  if $(MAKE) --no-print-directory $$t; then r=passed; else r=FAILED; failed="$$failed $$t"; fi; \
	  summary="$$summary$$(printf '%-16s %-7s %4ss' $$t $$r $$(( $$(date +%s) - s )))\n"; \
	done; \
	echo "=== make test summary"; printf "$$summary"; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed"; exit 1; fi; \
	echo "make test: all suites passed ($(CI_TARGETS))"

test-all: test

# The real Claude Code CLI, pinned in scripts/install-claude.sh; its path in .tools/claude.path.
claude-cli:
	@mkdir -p .tools && scripts/install-claude.sh | tail -n 1 > .tools/claude.path.new && mv .tools/claude.path.new .tools/claude.path
	@echo "real Claude CLI: $$(cat .tools/claude.path)"

# Unit, integration, doc and real-CLI tests of the Rust crates. The real-CLI
# tests (core/tests/real_cli.rs) must run here, never skip.
test-rust: claude-cli
	@if $(CARGO) clippy --version >/dev/null 2>&1; then \
	  $(CARGO) clippy -q --workspace --all-targets --features claude-jobs/cli -- -D warnings && echo "clippy: no warnings"; \
	else echo "clippy: SKIPPED (the clippy component is not installed: rustup component add clippy)"; fi
	CLAUDE_BIN="$$(cat .tools/claude.path)" CLAUDE_JOBS_REQUIRE_REAL_CLI=1 $(CARGO) test -p claude-jobs --features $(CORE_TEST_FEATURES)
	CLAUDE_BIN="$$(cat .tools/claude.path)" $(CARGO) test -p fake-claude -p mock-anthropic -p mcp-echo
	@echo "examples/rust on the fake CLI:"; $(CARGO) run -q -p claude-jobs-example -- $(or $(CARGO_TARGET_DIR),target)/debug/fake-claude "Test Brand"

BRAND ?= Acme Coffee
DEMO_DIR ?= demo-data
# research → brief → draft through the manager: the real API when
# ANTHROPIC_API_KEY is set, else the bundled mock (the command says which).
demo: build
	@if command -v claude >/dev/null 2>&1; then bin="$$(command -v claude)"; \
	else echo "claude is not on PATH: installing the pinned CLI from npm"; $(MAKE) --no-print-directory claude-cli; bin="$$(cat .tools/claude.path)"; fi; \
	$(or $(CARGO_TARGET_DIR),target)/debug/claude-jobs workflow --brand "$(BRAND)" --claude-bin "$$bin" --data-dir "$(DEMO_DIR)"

clean:
	$(CARGO) clean
