# Durable job store tests: SQLite (embedded) and PostgreSQL (several nodes).
# `make test-durable` starts a throwaway PostgreSQL server from Debian's
# packages (scripts/postgres.sh), runs core/tests/durable_*.rs and
# core/tests/schedules.rs and core/tests/artifacts*.rs against it, with an
# S3-compatible server (moto, scripts/s3-server.sh) for the S3 artifact
# store, and stops both again, also when a test fails.

.PHONY: test-durable pg-start pg-stop

DURABLE_TESTS := $(patsubst core/tests/%.rs,%,$(wildcard core/tests/durable_*.rs)) schedules artifacts artifacts_s3

test-durable:
	@set -e; url="$$(scripts/postgres.sh start)"; \
	trap 'scripts/postgres.sh stop; scripts/s3-server.sh stop' EXIT; \
	echo "PostgreSQL for the tests: $$url"; \
	s3="$$(scripts/s3-server.sh start)"; echo "S3 (moto) for the tests: $$s3"; \
	CLAUDE_JOBS_TEST_S3_URL="$$s3" CLAUDE_JOBS_TEST_PG_URL="$$url" CLAUDE_JOBS_TEST_PG_CTL="$(ROOT)/scripts/postgres.sh" $(CARGO) test -p claude-jobs --features $(CORE_TEST_FEATURES) \
		$(addprefix --test ,$(DURABLE_TESTS)) -- --test-threads=2

pg-start:
	@scripts/postgres.sh start

pg-stop:
	@scripts/postgres.sh stop
