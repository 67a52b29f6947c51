#!/usr/bin/env bash
# cgroup-v2-tests.sh: run the core's integration tests inside a cgroup v2 guest.
#
# Usage: scripts/cgroup-v2-tests.sh [TEST-NAME...]
#
#   Builds the integration tests of the claude-jobs crate (`cargo test --no-run`), the
#   `claude-jobs` CLI and the fake Claude CLI; strips them; and boots one guest with
#   scripts/cgroup-v2-guest.sh (Debian kernel, busybox initramfs, cgroup2 on
#   /sys/fs/cgroup) that runs every test binary, one after the other, each with
#   --test-threads=1 so that CPU and memory measurements do not disturb each other.
#   With TEST-NAMEs (e.g. `oom cgroup_v2_delegation`) only those test binaries run.
#
#   In the guest, CLAUDE_JOBS_REQUIRE_CGROUPS=1 and CLAUDE_JOBS_EXPECT_V2=1: a test that
#   would skip for want of cgroups (or of cgroup v2) fails instead.
#   The guest prints "GUEST KERNEL:", "GUEST CGROUP2 CONTROLLERS:", one line per test
#   binary and a closing "cgroup-v2 guest: N passed, M failed". Exit status 0 only if
#   every test passed.
#
# Environment: CARGO (default cargo); CGROUP_V2_MEM (guest MB; by default 2048, or more
#   when the staged binaries need it: the initramfs is held twice while it unpacks and
#   its root is a tmpfs of half the guest's memory);
#   CGROUP_V2_TIMEOUT (seconds for the whole guest run, default 1200);
#   CGROUP_V2_TEST_TIMEOUT (seconds per test binary in the guest, default 150; the
#   slowest takes about 35 s);
#   CGROUP_V2_SKIP (space-separated test binaries not to run);
#   CGROUP_V2_TEST_ARGS (more libtest arguments, e.g. --nocapture).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CARGO=${CARGO:-cargo}
MEM=${CGROUP_V2_MEM:-}
TIMEOUT=${CGROUP_V2_TIMEOUT:-1200}
TEST_TIMEOUT=${CGROUP_V2_TEST_TIMEOUT:-150}
SKIP=" ${CGROUP_V2_SKIP:-} "
ONLY=" $* "
log() { echo "cgroup-v2-tests: $*" >&2; }
die() { echo "cgroup-v2-tests: $*" >&2; exit 1; }
for tool in strip sed; do command -v "$tool" >/dev/null || die "$tool is needed"; done

# Tests that cannot pass in this guest for reasons that are not about cgroups, each with
# the reason (printed in the log). BINARY:TEST|REASON, or BINARY-GLOB|REASON for a whole
# test binary. They all run in `make test-rust`.
GUEST_SKIPS=(
  "artifacts*|two machines sharing logs and outputs through the store (SQLite/Postgres, kill -9 and rescue): not about cgroups; run in make test-rust and make test-durable"
  "durable_*|durable store tests (SQLite/Postgres, restarts, several processes sharing one queue): not about cgroups, and their timing windows (400-600 ms jobs, 30 s waits) are too tight for software emulation"
  "concurrency:never_more_than_three_of_ten|its 'the limit was used' check needs three 400 ms jobs to overlap; under TCG submitting through the SQLite store takes longer than a job, so at most two do"
  "memory_pressure:thrashing_is_reported_and_timed_out|needs file pages the kernel can evict and read back from a disk; the guest has only an initramfs (ramfs) and tmpfs, and with memory.swap.max=0 those pages cannot be evicted, so the job is OOM-killed instead of thrashing"
  "memory_pressure:a_pressure_limit_stops_it_early|same: thrashing needs a disk-backed file"
  "outcomes:a_10mb_line_under_the_default_cap_is_parsed|reading a 10 MB stdout line in a debug build can take longer than the test's 30 s job timeout under TCG; not a cgroup test"
  "outcomes:a_10mb_line_over_the_cap_is_a_warning|the same 10 MB line and 30 s timeout (timed out on a busy host); not a cgroup test"
  "faults:a_full_disk_ends_the_job_promptly_and_says_so|not about cgroups (it fills a tmpfs mounted as the data dir); runs in make test-rust"
  "backup|the SQLite store's backups: not about cgroups; run in make test-rust"
  "cli:workflow_runs_the_brand_steps_and_brand_is_short_for_var|the offline workflow starts the mock API program (testing/mock-anthropic), which the guest does not hold; not about cgroups; runs in make test-rust"
  "cli:workflow_bad_variables_exit_2_naming_them|the same mock API program; runs in make test-rust"
  "schedules|cron schedules on one SQLite file and on PostgreSQL (two managers, 2 s ticks over 20 s): not about cgroups; run in make test-rust and make test-durable"
)

start=$SECONDS
cd "$REPO"
# --- build ------------------------------------------------------------------------------
# One JSON line per artifact; the fields are always in this order.
artifacts() { sed -n 's/.*"target":{"kind":\["\([a-z-]*\)"\][^}]*"name":"\([^"]*\)".*"executable":"\([^"]*\)".*/\1 \2 \3/p'; }
FEATURES=${CORE_TEST_FEATURES:-cli,test-hooks,postgres}
log "building (cargo test -p claude-jobs --features $FEATURES --no-run; fake-claude)"
json=$(mktemp); trap 'rm -f "$json"' EXIT
"$CARGO" build -p fake-claude --message-format=json >"$json" ||
  { "$CARGO" build -p fake-claude >&2 || true; die "building fake-claude failed"; }
fake=$(artifacts <"$json" | awk '$1=="bin" && $2=="fake-claude" && $3 !~ /\/deps\// {print $3}' | tail -n1)
select=()   # with TEST-NAMEs, build only those test targets
for name in "$@"; do select+=(--test "$name"); done
build_tests() { "$CARGO" test -p claude-jobs --features "$FEATURES" --no-run "${select[@]+"${select[@]}"}" "$@"; }
if ! build_tests --message-format=json >"$json"; then
  build_tests >&2 || true   # show the errors
  die "building the claude-jobs tests failed"
fi
# The program itself, not the unit tests of src/bin (those are under deps/).
cli=$(artifacts <"$json" | awk '$1=="bin" && $2=="claude-jobs" && $3 !~ /\/deps\// {print $3}' | tail -n1)
mapfile -t tests < <(artifacts <"$json" | awk '$1=="test" {print $2 " " $3}' | sort -u)
if [ -z "$fake" ] || [ -z "$cli" ] || [ ${#tests[@]} -eq 0 ]; then
  die "no test executables in cargo's output"
fi
log "built in $((SECONDS - start))s"

# --- stage (stripped: debug binaries are ~100 MB each) ------------------------------------
STAGE=$(mktemp -d); trap 'rm -f "$json"; rm -rf "$STAGE"' EXIT
# cli.rs runs the CLI at its build path (CARGO_BIN_EXE_claude-jobs); run-tests links it
# there, as the guest mounts a tmpfs on /tmp (where a clone may live) after unpacking.
files=(--file "$STAGE/fake-claude:/bin/fake-claude" --file "$STAGE/claude-jobs:/opt/cgroup-v2/claude-jobs"
       --file "$STAGE/run-tests:/bin/run-tests")
strip -o "$STAGE/fake-claude" "$fake"
strip -o "$STAGE/claude-jobs" "$cli"
names=()
for t in "${tests[@]}"; do
  name=${t%% *} exe=${t#* }
  [[ $SKIP == *" $name "* ]] && { log "skipping $name (CGROUP_V2_SKIP)"; continue; }
  [ -n "${ONLY// /}" ] && [[ $ONLY != *" $name "* ]] && continue
  whole=
  for sk in "${GUEST_SKIPS[@]}"; do
    what=${sk%%|*}
    # shellcheck disable=SC2053 # a glob on purpose
    [[ $what != *:* && $name == $what ]] && whole=${sk#*|}
  done
  if [ -n "$whole" ]; then
    echo "cgroup-v2 guest: not run: $name: $whole" >>"$STAGE/skipped"
    continue
  fi
  strip -o "$STAGE/$name" "$exe"
  files+=(--file "$STAGE/$name:/tests/$name")
  names+=("$name")
  args=""
  for sk in "${GUEST_SKIPS[@]}"; do
    what=${sk%%|*}
    [[ $what == *:* && ${what%%:*} == "$name" ]] || continue
    args+=" --skip ${what#*:}"
    echo "cgroup-v2 guest: not run: $name::${what#*:}: ${sk#*|}" >>"$STAGE/skipped"
  done
  echo "$name$args" >>"$STAGE/plan"
done
[ ${#names[@]} -gt 0 ] || die "no test binary selected"
touch "$STAGE/skipped"
files+=(--file "$STAGE/plan:/etc/cgroup-v2/plan" --file "$STAGE/skipped:/etc/cgroup-v2/skipped")

# The guest side: busybox sh. Runs each binary of the plan (a line: name, then libtest
# arguments such as --skip), sums libtest's "test result:" lines.
cat >"$STAGE/run-tests" <<'EOF'
#!/bin/sh
# Arg: per-binary timeout.
per=$1
mkdir -p "$(dirname "$CGROUP_V2_CLI")" && ln -sf /opt/cgroup-v2/claude-jobs "$CGROUP_V2_CLI"
passed=0 failed=0 bad=""
while read -r name args; do
  echo "=== cgroup-v2 guest: $name"
  t0=$(date +%s)
  # shellcheck disable=SC2086 # word splitting wanted
  ( timeout "$per" "/tests/$name" --test-threads=1 $args $CGROUP_V2_TEST_ARGS </dev/null
    echo $? >/tmp/rc ) 2>&1 | tee /tmp/out
  rc=$(cat /tmp/rc)
  p=0 f=0
  for n in $(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1:\2/p' /tmp/out); do
    p=$((p + ${n%:*})); f=$((f + ${n#*:}))
  done
  # A crash or a hang (killed by timeout) with no failure counted counts as one.
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  [ "$f" = 0 ] || bad="$bad $name"
  echo "cgroup-v2 guest: $name: $p passed, $f failed (exit $rc, $(( $(date +%s) - t0 ))s)"
done </etc/cgroup-v2/plan
cat /etc/cgroup-v2/skipped
[ -z "$bad" ] || echo "cgroup-v2 guest: failing binaries:$bad"
echo "cgroup-v2 guest: $passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
EOF
chmod 755 "$STAGE/run-tests"

# --- boot -------------------------------------------------------------------------------
if [ -z "$MEM" ]; then
  staged=$(du -sm "$STAGE" | cut -f1)
  MEM=$(( 2 * staged + 1024 )); [ "$MEM" -ge 2048 ] || MEM=2048
  log "staged ${staged} MB: guest memory ${MEM} MB"
fi
log "running ${#names[@]} test binaries in the guest: ${names[*]}"
rc=0
"$REPO/scripts/cgroup-v2-guest.sh" --mem "$MEM" --timeout "$TIMEOUT" "${files[@]}" \
  --env FAKE_CLAUDE_BIN=/bin/fake-claude --env CLAUDE_JOBS_REQUIRE_CGROUPS=1 \
  --env CLAUDE_JOBS_EXPECT_V2=1 --env TMPDIR=/tmp --env RUST_BACKTRACE=1 \
  --env "CGROUP_V2_TEST_ARGS=${CGROUP_V2_TEST_ARGS:-}" --env "CGROUP_V2_CLI=$cli" \
  -- /bin/run-tests "$TEST_TIMEOUT" || rc=$?
log "done in $((SECONDS - start))s (guest exit $rc)"
exit "$rc"
