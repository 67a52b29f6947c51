#!/usr/bin/env bash
# A throwaway PostgreSQL server for the durable-store tests, from Debian's
# packages: `scripts/postgres.sh start` installs the server if needed, runs
# initdb once (as the `postgres` user: initdb refuses root), starts it on
# 127.0.0.1:54329, creates the database `claude_jobs_test` and prints its URL.
# Idempotent. `stop` stops it; `url` prints the URL; `status` tells;
# `fresh NAME` starts it if needed and makes an empty database NAME.
#
# Settings: PG_PORT (54329), PG_DIR (<repo>/.cache/pg, or /tmp/claude-jobs-pg
# when the repo is not writable by the postgres user), PG_DB (claude_jobs_test).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PORT="${PG_PORT:-54329}"
DB="${PG_DB:-claude_jobs_test}"
USER_NAME="claude_jobs"
PASSWORD="claude_jobs_pw"
URL="postgres://${USER_NAME}:${PASSWORD}@127.0.0.1:${PORT}/${DB}"

log() { echo "postgres.sh: $*" >&2; }

bindir() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    done
    return 1
}

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

install_server() {
    bindir >/dev/null 2>&1 && return 0
    [ "$(id -u)" = 0 ] || { log "PostgreSQL is not installed and this is not root: apt-get install postgresql"; exit 1; }
    log "installing PostgreSQL from the Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q postgresql >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q postgresql >/dev/null; }
    # The Debian package may start its own cluster on 5432; we do not need it.
    if command -v pg_ctlcluster >/dev/null; then
        for c in /etc/postgresql/*/main; do
            [ -d "$c" ] && pg_ctlcluster "$(basename "$(dirname "$c")")" main stop >/dev/null 2>&1 || true
        done
    fi
}

data_dir() {
    if [ -n "${PG_DIR:-}" ]; then echo "$PG_DIR"; return; fi
    local d="$ROOT/.cache/pg"
    mkdir -p "$ROOT/.cache" 2>/dev/null || true
    # The postgres user must reach the directory through every parent.
    if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$ROOT/.cache" 2>/dev/null; then
        d="/tmp/claude-jobs-pg"
    fi
    echo "$d"
}

start() {
    install_server
    local bin dir
    bin="$(bindir)"
    dir="$(data_dir)"
    if [ ! -s "$dir/PG_VERSION" ]; then
        log "initdb in $dir"
        mkdir -p "$dir"
        [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
        chmod 700 "$dir"
        as_pg "$bin/initdb" -D "$dir" -A trust -U postgres -E UTF8 >/dev/null
    fi
    if ! as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
        log "starting on 127.0.0.1:$PORT"
        as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
            -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
    fi
    local psql=("$bin/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
    if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = '$USER_NAME'")" != 1 ]; then
        "${psql[@]}" -c "CREATE ROLE $USER_NAME LOGIN SUPERUSER PASSWORD '$PASSWORD'" >/dev/null
    fi
    if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
        "${psql[@]}" -c "CREATE DATABASE $DB OWNER $USER_NAME" >/dev/null
    fi
    echo "$URL"
}

# A new, empty database NAME on the running server (dropped first if there),
# for tests that must not see other tests' jobs; prints its URL.
fresh() {
    local name="$1" bin
    [[ $name =~ ^[a-z_][a-z0-9_]*$ ]] || { log "bad database name: $name"; exit 2; }
    bin="$(bindir)"
    local psql=("$bin/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
    "${psql[@]}" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null
    "${psql[@]}" -c "CREATE DATABASE $name OWNER $USER_NAME" >/dev/null
    echo "postgres://${USER_NAME}:${PASSWORD}@127.0.0.1:${PORT}/${name}"
}

stop() {
    local bin dir
    bin="$(bindir)" || return 0
    dir="$(data_dir)"
    [ -s "$dir/PG_VERSION" ] || return 0
    as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1 || return 0
    as_pg "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
    log "stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    fresh) start >/dev/null && fresh "${2:?usage: $0 fresh NAME}" ;;
    url) echo "$URL" ;;
    status)
        bin="$(bindir)" && as_pg "$bin/pg_ctl" -D "$(data_dir)" status ;;
    *) echo "usage: $0 start|stop|fresh NAME|url|status" >&2; exit 2 ;;
esac
