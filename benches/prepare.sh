#!/usr/bin/env bash
# Prepares what items 5 and 6 of the benchmarks need, never failing: for each
# of `python`, `node` and `claude` it writes OUT/<name> (a path the bench
# uses) or OUT/<name>.na (why it is not available; the table then says
# "n/a (why)").
#
#   python  a virtualenv (OUT/venv) with the binding installed the way users
#           install it: `pip install ./bindings-python` (maturin, release).
#           Rebuilt only when the binding's or the core's sources changed.
#   node    the napi addon built in release (`cargo build --release -p
#           claude-jobs-node`, what `npm run build` runs) and staged in
#           OUT/node-pkg with the package's own index.js, so that a debug
#           build in bindings-node/ never ends up measured.
#   claude  the pinned real Claude Code CLI (scripts/install-claude.sh).
#
# Usage: benches/prepare.sh OUT     (CARGO and PYTHON3 are taken from the environment)
set -u

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
out="${1:-$root/target/bench}"
cargo="${CARGO:-cargo}"
python3="${PYTHON3:-python3}"
mkdir -p "$out" && out="$(cd "$out" && pwd -P)"
cd "$root" || exit 0

log() { printf '[bench prepare] %s\n' "$*" >&2; }
ok() { rm -f "$out/$1.na"; printf '%s\n' "$2" > "$out/$1"; log "$1: $2"; }
na() { rm -f "$out/$1"; printf '%s\n' "$2" > "$out/$1.na"; log "$1: n/a ($2)"; }
# The last meaningful line of a log, for the table.
why() { grep -v '^\s*$' "$1" | grep -iE 'error|fail|cannot|not found|no such' | tail -n 1 | cut -c1-200; }

# Newer than the stamp? (any file under the given paths)
stale() {
    local stamp="$1"; shift
    [[ ! -f "$stamp" ]] && return 0
    [[ -n "$(find "$@" -type f -newer "$stamp" -print -quit 2>/dev/null)" ]]
}

prepare_python() {
    local venv="$out/venv" logf="$out/python.log" stamp="$out/venv/.claude-jobs-stamp"
    if [[ ! -d bindings-python ]]; then na python "no bindings-python/"; return; fi
    if [[ ! -x "$venv/bin/python" ]]; then
        rm -rf "$venv"
        if ! "$python3" -m venv "$venv" >"$logf" 2>&1; then
            na python "python3 -m venv failed: $(why "$logf")"; return
        fi
    fi
    if stale "$stamp" core/src core/Cargo.toml bindings-python Cargo.lock; then
        log "python: pip install ./bindings-python (release build; log in $logf)"
        if ! "$venv/bin/python" -m pip --disable-pip-version-check install -q --force-reinstall --no-deps \
                ./bindings-python >"$logf" 2>&1; then
            rm -f "$stamp"
            na python "pip install ./bindings-python failed: $(why "$logf")"; return
        fi
        touch "$stamp"
    fi
    # Item 8's SSE clients follow a job through the FastAPI example service.
    if ! "$venv/bin/python" -c 'import fastapi, uvicorn' >/dev/null 2>&1; then
        "$venv/bin/python" -m pip --disable-pip-version-check install -q -r examples/fastapi/requirements.txt \
            >>"$logf" 2>&1 || log "python: the FastAPI example's requirements did not install (item 8's SSE row: n/a)"
    fi
    if ! "$venv/bin/python" -c 'import claude_jobs; claude_jobs.JobManager' >"$logf.import" 2>&1; then
        na python "import claude_jobs failed: $(tail -n 1 "$logf.import" | cut -c1-200)"; return
    fi
    ok python "$venv/bin/python"
}

prepare_node() {
    local pkg="$out/node-pkg" logf="$out/node.log"
    if [[ ! -f bindings-node/index.js ]]; then na node "no bindings-node/index.js"; return; fi
    command -v node >/dev/null || { na node "node is not installed"; return; }
    log "node: cargo build --release -p claude-jobs-node (log in $logf)"
    if ! "$cargo" build --release -p claude-jobs-node >"$logf" 2>&1; then
        na node "cargo build -p claude-jobs-node failed: $(why "$logf")"; return
    fi
    local so="$root/target/release/libclaude_jobs_node.so"
    [[ -f "$so" ]] || { na node "no $so after the build"; return; }
    local name
    name="$(node -e 'const p=require(process.argv[1]); process.stdout.write((p.napi&&p.napi.binaryName)||"claude-jobs")' \
        "$root/bindings-node/package.json" 2>/dev/null || echo claude-jobs)"
    rm -rf "$pkg" && mkdir -p "$pkg"
    cp bindings-node/package.json bindings-node/index.js "$pkg/"
    cp "$so" "$pkg/$name.linux-x64-gnu.node"
    # What `napi build --js native.js` generates, for this one platform.
    printf "module.exports = require('./%s.linux-x64-gnu.node')\n" "$name" > "$pkg/native.js"
    if ! node -e 'const m=require(process.argv[1]); if (typeof m.JobManager !== "function") throw new Error("no JobManager export")' \
            "$pkg" >"$logf.require" 2>&1; then
        na node "require() of the built package failed: $(grep -m1 -iE 'error' "$logf.require" | cut -c1-200)"; return
    fi
    ok node "$pkg"
}

prepare_claude() {
    local logf="$out/claude.log" bin
    bin="$(bash scripts/install-claude.sh 2>"$logf" | tail -n 1)"
    if [[ -n "$bin" && -x "$bin" ]]; then
        ok claude "$bin"
    else
        na claude "scripts/install-claude.sh failed: $(tail -n 1 "$logf" | cut -c1-200)"
    fi
}

prepare_python
prepare_node
prepare_claude
exit 0
