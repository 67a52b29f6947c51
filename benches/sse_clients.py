#!/usr/bin/env python3
"""Item 8's second part: SSE clients following one job through the FastAPI service.

Starts the service (examples/fastapi, ``python -m uvicorn app:app``, one
worker) on a free loopback port with the fake CLI as its ``CLAUDE_BIN``,
cgroups required and the SQLite store in a temporary data dir; submits one
job ``POST /api/jobs`` whose prompt chooses the fake's ``ticker`` scenario
(``fake-scenario: ticker``, ``fake-interval-ms``, ``fake-seconds``: the
service passes no ``FAKE_CLAUDE_*`` variable to the CLI); then ``--clients``
clients (raw HTTP/1.1 on asyncio streams, in this process) follow
``GET /api/jobs/{id}/events``. Each records now (CLOCK_REALTIME) − written for
every tick written from 0.5 s after the last client connected until the job
ends. The service's CPU (utime + stime of its process, /proc/PID/stat) over
the same window. Prints one JSON line. Must run with a Python that has the
binding, fastapi and uvicorn (the bench venv).

Usage: sse_clients.py --claude-bin PATH --app-dir DIR --data-dir DIR
       [--clients 100] [--seconds 30] [--interval-ms 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any, Optional

TICK = re.compile(rb"tick \d+ t=(\d+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_cpu(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http(url: str, body: Optional[dict[str, Any]] = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def start_service(args: argparse.Namespace, port: int, log: Any) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        CLAUDE_BIN=os.path.abspath(args.claude_bin),
        CLAUDE_JOBS_DATA_DIR=os.path.join(args.data_dir, "data"),
        CLAUDE_JOBS_ISOLATION="required",
        MAX_CONCURRENT_JOBS="3",
    )
    cmd = [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    return subprocess.Popen(cmd, cwd=args.app_dir, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(proc: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited ({proc.returncode})")
        try:
            http(base + "/health")
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the service did not answer /health within 60 s")


class Client:
    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.lat: list[float] = []
        self.frames = 0


async def follow(c: Client, port: int, job_id: str, since: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /api/jobs/{job_id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Accept: text/event-stream\r\nConnection: close\r\n\r\n".encode()
    )
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"GET events: {status!r}")
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    c.connected.set()
    # Whole reads scanned with one regex: a client must cost far less than the
    # service it measures (one timestamp per read; a read holds what arrived).
    tail = b""
    while True:
        data = await reader.read(1 << 16)
        if not data:
            break  # Connection: close: the service closes after the last chunk
        now = time.time_ns()
        buf = tail + data
        cut = buf.rfind(b"\n") + 1
        tail = buf[cut:]
        for m in TICK.finditer(buf, 0, cut):
            t = int(m.group(1))
            if since and t >= since[0]:
                c.lat.append((now - t) / 1e6)
                c.frames += 1
        if buf.endswith(b"\r\n0\r\n\r\n"):
            break
    writer.close()


def pct(v: list[float], q: float) -> Optional[float]:
    if not v:
        return None
    v = sorted(v)
    return v[min(max(math.ceil(len(v) * q), 1), len(v)) - 1]


async def clients(args: argparse.Namespace, port: int, job_id: str, pid: int) -> dict[str, Any]:
    since: list[int] = []
    cs = [Client() for _ in range(args.clients)]
    tasks = [asyncio.ensure_future(follow(c, port, job_id, since)) for c in cs]
    await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in cs)), timeout=60)
    await asyncio.sleep(0.5)
    since.append(time.time_ns())
    s0, t0, own0 = proc_cpu(pid), time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
    # A service that falls behind keeps sending after the job's end: give it
    # up to two minutes more, then report what arrived (and how many did not end).
    _, pending = await asyncio.wait(tasks, timeout=args.seconds + 120)
    for t in pending:
        t.cancel()
    for t in tasks:
        if not t.cancelled() and t.exception() is not None:
            raise t.exception()  # type: ignore[misc]
    own1 = resource.getrusage(resource.RUSAGE_SELF)
    lat = [x for c in cs for x in c.lat]
    return {
        "clients": args.clients,
        "frames": sum(c.frames for c in cs),
        "window_s": time.monotonic() - t0,
        "service_cpu_s": proc_cpu(pid) - s0,
        "client_cpu_s": own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime,
        "p50_ms": pct(lat, 0.5),
        "p99_ms": pct(lat, 0.99),
        "max_ms": max(lat) if lat else None,
        "min_frames": min(c.frames for c in cs),
        "unfinished_clients": len(pending),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    os.makedirs(args.data_dir, exist_ok=True)
    log_path = os.path.join(args.data_dir, "service.log")
    with open(log_path, "wb") as log:
        proc = start_service(args, port, log)
    try:
        wait_healthy(proc, base)
        prompt = f"fake-scenario: ticker\nfake-interval-ms: {args.interval_ms}\nfake-seconds: {args.seconds}\n"
        job = http(base + "/api/jobs", {"prompt": prompt, "memory": "256M"})
        out = asyncio.run(clients(args, port, job["id"], proc.pid))
        state = http(base + f"/api/jobs/{job['id']}")
        out["job_state"] = state.get("state")
        if state.get("state") != "succeeded":
            out["error"] = f"the job ended {state.get('state')}: {state.get('error')}"
        return out
    except Exception as e:
        with open(log_path, "rb") as f:
            tail = f.read()[-400:].decode(errors="replace")
        return {"error": f"{type(e).__name__}: {e}; service log: {tail}"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claude-bin", required=True)
    ap.add_argument("--app-dir", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--interval-ms", type=int, default=10)
    args = ap.parse_args()
    out = run(args)
    print(json.dumps(out))
    sys.exit(0 if not out.get("error") else 1)


if __name__ == "__main__":
    main()
