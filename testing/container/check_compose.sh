#!/usr/bin/env bash
# `make test-compose` (part of test-container): deploy/compose.yaml and
# compose.postgres.yaml parse and say what the README says
# (testing/container/check_compose.py, with Debian's python3-yaml), and
# podman-compose (Debian's 1.0.3; no Docker engine runs here) turns them into
# podman commands (`--dry-run up`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
if ! command -v podman-compose >/dev/null || ! /usr/bin/python3 -c 'import yaml' 2>/dev/null; then
    echo "check-compose: installing podman-compose and python3-yaml (Debian packages)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman-compose python3-yaml >/dev/null
fi
exec /usr/bin/python3 "$root/testing/container/check_compose.py"
