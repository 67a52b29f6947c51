#!/usr/bin/env bash
# `make test-dist` (issue 17): the artifacts of dist/ installed and used in
# clean containers from bare Debian bases, with no Rust and no compiler (see
# testing/dist/README.md):
#   Debian 13 (trixie):   python3, python3-venv, nodejs 20 → wheel, npm tarballs, CLI tarball
#   Debian 11 (bullseye): python3 (3.9), python3-venv, glibc 2.31 → wheel, CLI tarball
#                         (the floor the artifacts claim; its Node is 12, too old for the package)
# TEST_DIST_SUITES picks the bases: "trixie" by default (`make test`); "trixie bullseye" adds the
# Debian 11 floor (its mmdebstrap took 222 s on the 2-core machine, too long for every CI run).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$root"
log() { printf 'test-dist: %s\n' "$*" >&2; }

DIST="${DIST:-$root/dist}"
SUITES="${TEST_DIST_SUITES:-trixie}"

for f in "$DIST"/claude_jobs-*.whl "$DIST"/claude-jobs-[0-9]*.tgz "$DIST"/claude-jobs-linux-x64-gnu-*.tgz \
    "$DIST"/claude-jobs-*-x86_64-unknown-linux-gnu.tar.gz; do
    [[ -e "$f" ]] || { log "missing $f: run make dist first"; exit 1; }
done
# The fake CLI linked against glibc 2.31, like the artifacts (it runs on both).
bash scripts/dist.sh fake
fake="${CARGO_TARGET_DIR:-$root/target}/x86_64-unknown-linux-gnu/dist/fake-claude"
# npm: the host's own (pure JavaScript), mounted; Debian's npm package would
# bring a compiler into the container.
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
[[ -f "$npm_dir/bin/npm-cli.js" ]] || { log "npm not found on the host ($npm_dir)"; exit 1; }

status=0
for suite in $SUITES; do
    case "$suite" in
    bullseye)
        # Only for this test: python3 and venv go into the base itself (one step).
        checks="toolchain wheel cli"
        DEBIAN_SUITE="$suite" BASE_INCLUDE=python3,python3-venv bash scripts/images.sh base
        image="localhost/claude-jobs-base:$suite-python3-python3-venv"
        ;;
    *)
        checks="toolchain wheel npm cli"
        # The images' bare base plus the interpreters (a cached layer after the first run).
        DEBIAN_SUITE="$suite" bash scripts/images.sh base
        image="localhost/claude-jobs-test-dist:$suite"
        packages="python3 python3-venv nodejs"
        podman build --quiet --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network host \
        --build-arg "BASE=localhost/claude-jobs-base:$suite" --build-arg "PACKAGES=$packages" \
        -t "$image" -f - "$root/testing/dist" >/dev/null <<'CONTAINERFILE'
ARG BASE
FROM ${BASE}
ARG PACKAGES
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $PACKAGES \
 && rm -rf /var/lib/apt/lists/*
CONTAINERFILE
        ;;
    esac
    log "$suite: testing/dist/run.sh ($checks) in a clean $image container (privileged, private cgroup namespace)"
    podman run --rm --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network host \
        --privileged --cgroupns=private -e "CHECKS=$checks" \
        -v "$DIST:/dist:ro" -v "$root/testing/dist:/checks:ro" -v "$fake:/usr/local/bin/fake-claude:ro" \
        -v "$npm_dir:/opt/npm:ro" "$image" bash /checks/run.sh || status=1
done
exit $status
