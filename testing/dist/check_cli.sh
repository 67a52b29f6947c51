#!/bin/bash
# The CLI tarball's check: the same two capped jobs through `claude-jobs run` (see README.md).
set -euo pipefail
bin="$1"
fake="${FAKE_CLAUDE:-/usr/local/bin/fake-claude}"
cap=$((64 << 20))
common=(--claude-bin "$fake" --data-dir /tmp/check-cli --isolation required --memory 64M --json)

"$bin" run "${common[@]}" --prompt $'hello\nfake-scenario: slow' \
    --env FAKE_CLAUDE_SECONDS=2 --env FAKE_CLAUDE_INTERVAL_MS=200 >/tmp/cli-slow.json 2>/tmp/cli-slow.err &
pid=$!
read_back=""
for _ in $(seq 200); do
    # Once started, the job's cgroup holds the caps (written and read back before the CLI starts).
    grep -q 'started:' /tmp/cli-slow.err || { sleep 0.05; continue; }
    f="$(find /sys/fs/cgroup -maxdepth 6 \( -name memory.limit_in_bytes -o -name memory.max \) -path '*/job-*/*' 2>/dev/null | head -n1)"
    if [[ -n "$f" ]]; then read_back="$(cat "$f")"; break; fi
    sleep 0.05
done
wait "$pid"
set +e
"$bin" run "${common[@]}" --prompt $'eat memory\nfake-scenario: alloc' >/tmp/cli-oom.json
status=$?
set -e
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[sys.argv[2]])' "$@"; }
echo "cli ($("$bin" --version)): slow $(field /tmp/cli-slow.json state) isolation=$(field /tmp/cli-slow.json isolation)" \
    "cap read back=${read_back:-none}; alloc $(field /tmp/cli-oom.json state) (exit $status) isolation=$(field /tmp/cli-oom.json isolation)"
[[ "$(field /tmp/cli-slow.json state)" == succeeded ]]
[[ "$(field /tmp/cli-oom.json state)" == oom_killed && $status == 1 ]]
[[ "$(field /tmp/cli-slow.json isolation)" == cgroup-v[12] && "$(field /tmp/cli-oom.json isolation)" == cgroup-v[12] ]]
[[ "$read_back" == "$cap" ]]
