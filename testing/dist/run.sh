#!/bin/bash
# Runs in the clean container (scripts/test-dist.sh): installs each artifact of
# /dist as a user would and runs its check; ends with `N passed, M failed`.
set -uo pipefail
passed=0 failed=0
check() {
    local name="$1"; shift
    echo "--- $name"
    if "$@"; then passed=$((passed + 1)); echo "PASS $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
no_toolchain() {
    local t found=""
    for t in cc gcc c++ clang rustc cargo make; do command -v "$t" >/dev/null && found="$found $t"; done
    echo "container: $(. /etc/os-release; echo "$PRETTY_NAME"), glibc $(getconf GNU_LIBC_VERSION | cut -d' ' -f2), python $(python3 -V | cut -d' ' -f2), node $(node --version 2>/dev/null || echo none); compilers:${found:- none}"
    [[ -z "$found" ]]
}
wheel() {
    python3 -m venv /tmp/venv &&
        /tmp/venv/bin/pip install -q --no-index --disable-pip-version-check /dist/claude_jobs-*.whl &&
        /tmp/venv/bin/python /checks/check_wheel.py
}
npm_package() {
    mkdir -p /tmp/npm && cd /tmp/npm && cp /dist/claude-jobs-[0-9]*.tgz /dist/claude-jobs-linux-x64-gnu-*.tgz . &&
        echo '{"name":"check","private":true,"type":"module"}' >package.json &&
        node /opt/npm/bin/npm-cli.js install --offline --no-audit --no-fund --loglevel=error \
            ./claude-jobs-linux-x64-gnu-*.tgz ./claude-jobs-[0-9]*.tgz &&
        ls node_modules/claude-jobs-linux-x64-gnu/*.node &&
        cp /checks/check_npm.mjs . && node check_npm.mjs
}
cli() {
    mkdir -p /tmp/cli && tar -C /tmp/cli -xzf /dist/claude-jobs-*-x86_64-unknown-linux-gnu.tar.gz &&
        ls /tmp/cli/*/ && bash /checks/check_cli.sh /tmp/cli/claude-jobs-*/claude-jobs
}
checks=" ${CHECKS:-toolchain wheel npm cli} "
[[ $checks == *" toolchain "* ]] && check "no compiler or Rust in the container" no_toolchain
[[ $checks == *" wheel "* ]] && check "wheel: pip install, a capped job" wheel
[[ $checks == *" npm "* ]] && check "npm tarballs: npm install, a capped job" npm_package
[[ $checks == *" cli "* ]] && check "CLI tarball: claude-jobs run, a capped job" cli
echo "test-dist: $passed passed, $failed failed"
[[ $failed == 0 ]]
