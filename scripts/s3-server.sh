#!/usr/bin/env bash
# A throwaway S3-compatible server for the artifact-store tests: moto's
# server from PyPI (pinned), in its own venv under .cache/moto-venv, on
# 127.0.0.1:54330. `scripts/s3-server.sh start` installs it if needed, starts
# it, waits until it answers and prints its endpoint URL; `stop` stops it.
# Idempotent. Settings: S3_PORT (54330).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PORT="${S3_PORT:-54330}"
MOTO_VERSION="5.2.5"
VENV="$ROOT/.cache/moto-venv"
PIDFILE="$ROOT/.cache/moto.pid"
LOG="$ROOT/.cache/moto.log"
URL="http://127.0.0.1:${PORT}"

log() { echo "s3-server.sh: $*" >&2; }

answers() { python3 - "$PORT" <<'PY' 2>/dev/null
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=1)
except urllib.error.HTTPError:
    pass
PY
}

install() {
    if [ -x "$VENV/bin/moto_server" ] && "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
        return 0
    fi
    log "installing moto[server]==$MOTO_VERSION into $VENV"
    mkdir -p "$ROOT/.cache"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
}

start() {
    if answers; then echo "$URL"; return 0; fi
    install
    log "starting on 127.0.0.1:$PORT"
    nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 100); do
        if answers; then echo "$URL"; return 0; fi
        sleep 0.2
    done
    log "moto did not answer in 20 s; its log:"; tail -n 20 "$LOG" >&2
    exit 1
}

stop() {
    if [ -f "$PIDFILE" ]; then
        kill "$(cat "$PIDFILE")" 2>/dev/null || true
        rm -f "$PIDFILE"
        log "stopped"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) echo "$URL" ;;
    *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
