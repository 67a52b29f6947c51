#!/usr/bin/env bash
# Install the real Claude Code CLI from npm at a pinned version into
# <repo>/.tools/claude-<version>/ (gitignored) and print the absolute path of
# the native executable as the last line of stdout. Progress goes to stderr.
#
# Idempotent: if the executable is already there and reports the pinned
# version, nothing is downloaded.
#
# Usage: scripts/install-claude.sh            # prints /abs/path/to/claude
#        CLAUDE_BIN=$(scripts/install-claude.sh | tail -n1)
set -euo pipefail

export CLAUDE_CODE_VERSION=2.1.332

log() { printf 'install-claude: %s\n' "$*" >&2; }

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
repo_root="$(cd "$script_dir/.." && pwd -P)"
prefix="$repo_root/.tools/claude-$CLAUDE_CODE_VERSION"

# The npm package is a thin wrapper; the native binary ships in the optional
# dependency @anthropic-ai/claude-code-linux-x64 and its postinstall step
# copies it to bin/claude.exe of the main package. Accept either location.
find_exe() {
    local c
    for c in \
        "$prefix/node_modules/@anthropic-ai/claude-code/bin/claude.exe" \
        "$prefix/node_modules/@anthropic-ai/claude-code-linux-x64/claude"; do
        if [[ -f "$c" && -x "$c" ]]; then
            printf '%s\n' "$c"
            return 0
        fi
    done
    return 1
}

# Prints the version the executable reports ("2.1.332 (Claude Code)" -> 2.1.332).
exe_version() {
    env -i PATH=/usr/bin:/bin HOME="${TMPDIR:-/tmp}" DISABLE_AUTOUPDATER=1 \
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
        "$1" --version 2>/dev/null | awk 'NR==1 {print $1}'
}

if exe="$(find_exe)" && [[ "$(exe_version "$exe")" == "$CLAUDE_CODE_VERSION" ]]; then
    log "claude-code $CLAUDE_CODE_VERSION already installed in $prefix"
    printf '%s\n' "$exe"
    exit 0
fi

command -v npm >/dev/null || { log "npm not found in PATH"; exit 1; }

log "installing @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION into $prefix"
mkdir -p "$prefix"
npm install --prefix "$prefix" --no-audit --no-fund --no-save --loglevel=error \
    "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" >&2

if ! exe="$(find_exe)"; then
    log "installed, but no executable found under $prefix/node_modules/@anthropic-ai"
    exit 1
fi
got="$(exe_version "$exe")"
if [[ "$got" != "$CLAUDE_CODE_VERSION" ]]; then
    log "executable $exe reports version '${got}', expected $CLAUDE_CODE_VERSION"
    exit 1
fi
log "installed claude-code $got"
printf '%s\n' "$exe"
