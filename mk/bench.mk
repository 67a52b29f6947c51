# Benchmarks (issue #8), in benches/.
#
# `make bench` builds the bench program and the fake CLI in release, prepares
# the Python and Node bindings and the real CLI (any of them may end up
# "n/a (reason)" in the table; that never fails the run), then measures
# everything in one run and prints one table: benchmark | figure | goal | met?
# The table, the machine and the raw figures go to benches/RESULTS.md.
#
# BENCH_FLAGS: e.g. `--quick` (small sizes), `--only 1,3`, `--rounds 5`.
# BENCH_TMP: where the jobs' data dirs go (default /dev/shm, a tmpfs).

BENCH_OUT ?= $(ROOT)/target/bench
BENCH_FLAGS ?=

.PHONY: bench bench-quick bench-prepare

bench:
	$(CARGO) build --release -p claude-jobs-benches -p fake-claude
	@CARGO="$(CARGO)" bash $(ROOT)/benches/prepare.sh $(BENCH_OUT)
	$(ROOT)/target/release/claude-jobs-bench run --prepared $(BENCH_OUT) $(BENCH_FLAGS)

# Every item at small sizes, RESULTS.md untouched: checks that they all run
# (a few minutes; not part of `make test`).
bench-quick:
	@$(MAKE) --no-print-directory bench BENCH_FLAGS="--quick --no-write"

# Only the bindings and the real CLI (items 5 and 6).
bench-prepare:
	@CARGO="$(CARGO)" bash $(ROOT)/benches/prepare.sh $(BENCH_OUT)
