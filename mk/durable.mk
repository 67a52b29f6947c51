# Durable job store tests: SQLite (embedded) and PostgreSQL (several nodes).
# `make test-durable` starts a throwaway PostgreSQL server from Debian's
# packages (scripts/postgres.sh), runs core/tests/durable_*.rs against it,
# and stops it again, also when a test fails.
TEST_TARGETS += test-durable

.PHONY: test-durable pg-start pg-stop

DURABLE_TESTS := $(patsubst core/tests/%.rs,%,$(wildcard core/tests/durable_*.rs))

test-durable:
	@set -e; url="$$(scripts/postgres.sh start)"; \
	trap 'scripts/postgres.sh stop' EXIT; \
	echo "PostgreSQL for the tests: $$url"; \
	CLAUDE_JOBS_TEST_PG_URL="$$url" CLAUDE_JOBS_TEST_PG_CTL="$(ROOT)/scripts/postgres.sh" $(CARGO) test -p claude-jobs --features cli,postgres \
		$(addprefix --test ,$(DURABLE_TESTS)) -- --test-threads=2

pg-start:
	@scripts/postgres.sh start

pg-stop:
	@scripts/postgres.sh stop
