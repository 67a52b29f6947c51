#!/usr/bin/env bash
# Builds the release artifacts into dist/ (`make dist`; issue 17):
#
#   claude_jobs-<v>-cp39-abi3-manylinux_2_31_x86_64.whl  the Python binding (abi3: CPython >= 3.9)
#   claude_jobs-<v>.tar.gz                                its sdist (builds with Rust)
#   claude-jobs-<v>.tgz                                   the npm package (JS + types)
#   claude-jobs-linux-x64-gnu-<v>.tgz                     its prebuilt addon, the napi-rs way:
#                                                         an optionalDependency of the main package
#   claude-jobs-<v>-x86_64-unknown-linux-gnu.tar.gz       the command-line program, README, licences
#   claude-jobs-<v>.crate                                 `cargo package -p claude-jobs` (checked unpacked)
#
# Every native artifact is linked against glibc 2.31 (Debian 11, Ubuntu 20.04,
# RHEL 9 and later) with zig as the linker and C compiler: ziglang, maturin and
# cargo-zigbuild come from PyPI into .tools/dist-venv. The build checks it:
# maturin's auditwheel step for the wheel, `readelf -V` for the addon and the
# program (no GLIBC_ symbol above 2.31).
#
# Usage: scripts/dist.sh [wheel|npm|cli|crate|tools]...   (default: all of them)
#        scripts/dist.sh fake    the tests' fake CLI, linked the same way (not shipped)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$root"
log() { printf 'dist: %s\n' "$*" >&2; }

DIST="${DIST:-$root/dist}"
TARGET=x86_64-unknown-linux-gnu
GLIBC=2.31
# A release build without debug info (Cargo.toml [profile.dist]).
PROFILE=dist
# The same features in the three builds: the bindings get the PostgreSQL store
# (several replicas, deploy/compose.postgres.yaml) and, with the workspace-wide
# feature unification below, the three builds share one build of the core.
FEATURES="claude-jobs/cli,claude-jobs/postgres"
VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' core/Cargo.toml | head -n1)"
VENV="$root/.tools/dist-venv"
TOOLS_PINS=(maturin==1.16.0 ziglang==0.17.1 cargo-zigbuild==0.24.1)
cargo_target_dir="${CARGO_TARGET_DIR:-$root/target}"
out_dir="$cargo_target_dir/$TARGET/$PROFILE"
stage="$cargo_target_dir/dist-stage"

tools() {
    if [[ -x "$VENV/bin/maturin" && -x "$VENV/bin/cargo-zigbuild" ]] &&
        "$VENV/bin/python" -m ziglang version >/dev/null 2>&1; then
        return
    fi
    log "installing ${TOOLS_PINS[*]} from PyPI into $VENV"
    python3 -m venv "$VENV" 2>/dev/null || {
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv "$VENV"
    }
    "$VENV/bin/pip" install -q --disable-pip-version-check "${TOOLS_PINS[@]}"
}

# The environment cargo-zigbuild sets for `--target $TARGET.$GLIBC` (CC, CXX,
# AR, the linker: zig wrappers for glibc 2.31), captured once by letting it run
# a stand-in for cargo, then used by maturin, napi and cargo alike, so that the
# three builds share their dependencies' artifacts.
zig_env() {
    local capture="$stage/zig.env"
    mkdir -p "$stage"
    if [[ ! -s "$capture" || "$VENV/bin/cargo-zigbuild" -nt "$capture" ]]; then
        local fake="$stage/capture-cargo"
        printf '#!/bin/sh\nenv -0 > "%s.tmp"\n' "$capture" >"$fake"
        chmod +x "$fake"
        PATH="$VENV/bin:$PATH" CARGO="$fake" "$VENV/bin/cargo-zigbuild" zigbuild --target "$TARGET.$GLIBC" -q >/dev/null
        mv "$capture.tmp" "$capture"
    fi
    local kv
    while IFS= read -r -d '' kv; do
        case "$kv" in
        AR_* | CC_* | CXX_* | RANLIB_* | BINDGEN_EXTRA_CLANG_ARGS_* | CMAKE_TOOLCHAIN_FILE_* | \
            CARGO_TARGET_* | CARGO_ZIGBUILD_* | CARGO_UNSTABLE_* | __CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS=*)
            export "$kv" ;;
        esac
    done <"$capture"
    # cargo-zigbuild already runs cargo with the nightly override above (for
    # target-applies-to-host); it also enables workspace-wide feature
    # unification, so each build below resolves the same features for the core
    # and its dependencies and reuses what the previous one compiled. Without
    # it the builds are correct too, only three times as long.
    export CARGO_UNSTABLE_FEATURE_UNIFICATION=true CARGO_RESOLVER_FEATURE_UNIFICATION=workspace
    export PATH="$VENV/bin:$PATH"
}

# Fails unless every GLIBC_ symbol version the file needs is at most $GLIBC.
check_glibc() {
    local max
    max="$(readelf -V "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n1)"
    if [[ "$(printf '%s\n%s\n' "$max" "$GLIBC" | sort -V | tail -n1)" != "$GLIBC" ]]; then
        log "$1 needs GLIBC_$max, above $GLIBC"
        return 1
    fi
    log "$(basename "$1"): highest GLIBC symbol version GLIBC_$max (<= $GLIBC)"
}

wheel() {
    zig_env
    rm -f "$DIST"/claude_jobs-*.whl "$DIST"/claude_jobs-*.tar.gz
    log "Python wheel (abi3, manylinux_2_31) and sdist"
    maturin build -m bindings-python/Cargo.toml --profile "$PROFILE" --target "$TARGET" \
        --features "$FEATURES" --compatibility "manylinux_$(tr . _ <<<"$GLIBC")" --auditwheel check \
        --out "$DIST"
    maturin sdist -m bindings-python/Cargo.toml --out "$DIST"
    local so
    so="$(mktemp -d)"
    python3 -m zipfile -e "$DIST"/claude_jobs-*.whl "$so"
    check_glibc "$(find "$so" -name '*.so' | head -n1)"
    rm -rf "$so"
}

# The napi CLI of the npm step, at the version bindings-node's package-lock
# pins, installed apart from bindings-node/node_modules: `make test` builds
# dist/ in the background while test-node reinstalls that directory.
napi_cli() {
    local dir="$root/.tools/dist-npm" version
    version="$(node -p "require('$root/bindings-node/package-lock.json').packages['node_modules/@napi-rs/cli'].version")"
    if [[ ! -x "$dir/node_modules/.bin/napi" || "$(cat "$dir/version" 2>/dev/null)" != "$version" ]]; then
        log "installing @napi-rs/cli@$version into $dir"
        rm -rf "$dir" && mkdir -p "$dir"
        printf '{ "name": "claude-jobs-dist-tools", "private": true }\n' >"$dir/package.json"
        (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "@napi-rs/cli@$version" >/dev/null)
        echo "$version" >"$dir/version"
    fi
    napi="$dir/node_modules/.bin/napi"
}

npm_package() {
    zig_env
    local bn="$root/bindings-node" main="$stage/npm/claude-jobs" plat="$stage/npm/linux-x64-gnu" napi
    napi_cli
    log "npm package and its linux-x64-gnu addon package"
    rm -rf "$stage/npm" && mkdir -p "$main" "$plat"
    (cd "$bn" && "$napi" build --platform --profile "$PROFILE" --target "$TARGET" --features "$FEATURES" \
        --output-dir "$stage/npm/build" --js native.js --dts native.d.ts)
    check_glibc "$stage/npm/build/claude-jobs.linux-x64-gnu.node"
    # The main package: the JS API, its types, the generated loader (which
    # requires claude-jobs-linux-x64-gnu when no local .node exists).
    cp "$bn"/{package.json,README.md,index.js,index.mjs,index.d.ts,index.d.mts} "$main/"
    # As `napi prepublish` does: the platform package becomes an optional
    # dependency at packing time (in the repository it would not resolve).
    (cd "$main" && npm pkg set "optionalDependencies.claude-jobs-linux-x64-gnu=$(npm pkg get version | tr -d '"')")
    cp "$stage/npm/build"/native.{js,d.ts} "$main/"
    cp LICENSE-MIT LICENSE-APACHE "$main/"
    cp -r "$bn/npm/linux-x64-gnu/." "$plat/"
    (cd "$plat" && npm pkg set "version=$(cd "$main" && npm pkg get version | tr -d '"')")
    cp "$stage/npm/build/claude-jobs.linux-x64-gnu.node" LICENSE-MIT LICENSE-APACHE "$plat/"
    rm -f "$DIST"/claude-jobs-[0-9]*.tgz "$DIST"/claude-jobs-linux-x64-gnu-*.tgz
    (cd "$plat" && npm pack --silent --pack-destination "$DIST" >/dev/null)
    (cd "$main" && npm pack --silent --pack-destination "$DIST" >/dev/null)
}

cli() {
    zig_env
    log "the claude-jobs program"
    cargo build --profile "$PROFILE" --target "$TARGET" -p claude-jobs --features "cli,postgres"
    check_glibc "$out_dir/claude-jobs"
    local name="claude-jobs-$VERSION-$TARGET"
    rm -rf "${stage:?}/$name" && mkdir -p "$stage/$name"
    cp "$out_dir/claude-jobs" README.md LICENSE-MIT LICENSE-APACHE "$stage/$name/"
    tar -C "$stage" -czf "$DIST/$name.tar.gz" "$name"
}

# Not shipped: the fake CLI of the tests, linked like the artifacts, so that
# `make test-dist` can run it on Debian 11 (glibc 2.31) too.
fake() {
    zig_env
    cargo build -q --profile "$PROFILE" --target "$TARGET" -p fake-claude
    check_glibc "$out_dir/fake-claude"
}

crate() {
    log "cargo package -p claude-jobs, then cargo check of the packed crate"
    # --allow-dirty: `make dist` packs the working tree, committed or not.
    # Instead of package's own verify (a full dev build of the packed crate
    # and every dependency in a target dir of its own, about 4 minutes here),
    # the packed crate is unpacked and type-checked on its own (default
    # features, then `cli,postgres`) with the workspace's Cargo.lock and
    # target dir, so the dependencies `make build` and clippy already checked
    # are reused: the same proof that what was packed compiles (no file
    # missing, no path dependency), without code generation.
    local pkg="$cargo_target_dir/package-verify"
    cargo package -p claude-jobs --allow-dirty --no-verify --target-dir "$pkg"
    # Outside the repository, or cargo takes it for a workspace member.
    local unpacked
    unpacked="$(mktemp -d "${TMPDIR:-/tmp}/claude-jobs-crate.XXXXXX")"
    tar -xzf "$pkg/package/claude-jobs-$VERSION.crate" -C "$unpacked"
    cp Cargo.lock "$unpacked/claude-jobs-$VERSION/Cargo.lock"
    local rc=0
    (cd "$unpacked/claude-jobs-$VERSION" &&
        CARGO_INCREMENTAL=0 cargo check -q --target-dir "$cargo_target_dir" &&
        CARGO_INCREMENTAL=0 cargo check -q --features cli,postgres --target-dir "$cargo_target_dir") || rc=$?
    rm -rf "$unpacked"
    [[ $rc -eq 0 ]] || { log "the packed crate does not build on its own"; return "$rc"; }
    cp "$pkg/package/claude-jobs-$VERSION.crate" "$DIST/"
}

mkdir -p "$DIST"
steps=("$@")
[[ ${#steps[@]} -gt 0 ]] || steps=(wheel npm cli crate)
tools
for s in "${steps[@]}"; do
    start=$SECONDS
    case "$s" in
    tools) ;;
    fake) fake ;;
    wheel) wheel ;;
    npm) npm_package ;;
    cli) cli ;;
    crate) crate ;;
    *) log "unknown step $s (wheel, npm, cli, crate, tools, fake)"; exit 2 ;;
    esac
    log "$s: $((SECONDS - start)) s"
done
if [[ " ${steps[*]} " != " tools " && " ${steps[*]} " != " fake " ]]; then
    log "artifacts in $DIST:"
    (cd "$DIST" && ls -l --block-size=K -- *) >&2
fi
