#!/usr/bin/env python3
"""Item 8's reference: many running jobs followed by subscribers, the seed's way.

``--jobs`` fake CLIs (scenario ``ticker``: an assistant line ``tick N t=<unix
ns>`` every ``--interval-ms`` for ``--seconds``) started at once with
``asyncio.create_subprocess_exec``, the prompt written to stdin, stderr read;
one reader task per job reads stdout line by line, parses each line with
``json.loads`` and puts the event on that job's ``asyncio.Queue``; one consumer
task per job takes the events off the queue and records now (CLOCK_REALTIME)
− written for each tick. No cgroups, no log files, no store: less than the
manager does per job. The same steady-state window as the manager's run
(benches/src/running.rs): from 1 s after every job's first tick reached its
consumer until 0.5 s before the first jobs end. Prints one JSON line with the
fields of running.rs's RunningResult (CPU from getrusage(RUSAGE_SELF)).

Usage: asyncio_stream.py --claude-bin PATH [--jobs 200] [--seconds 30] [--interval-ms 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import sys
import time
from typing import Any, Optional

CLI_ARGS = ["-p", "--output-format", "stream-json", "--verbose"]
PROMPT = "benchmark job: say ok"


class Shared:
    def __init__(self) -> None:
        self.recording = False
        self.first_seen = 0
        self.window_events = 0


def tick_time(event: dict[str, Any]) -> Optional[int]:
    """The write time of a tick (an assistant text `tick N t=<ns>`)."""
    if event.get("type") != "assistant":
        return None
    for block in event.get("message", {}).get("content", []):
        text = block.get("text", "")
        if text.startswith("tick ") and " t=" in text:
            return int(text.rsplit(" t=", 1)[1])
    return None


async def reader(proc: asyncio.subprocess.Process, queue: "asyncio.Queue[Optional[dict[str, Any]]]") -> None:
    assert proc.stdout is not None
    async for raw in proc.stdout:
        line = raw.strip()
        if not line:
            continue
        try:
            queue.put_nowait(json.loads(line))
        except ValueError:
            continue
    queue.put_nowait(None)


async def consumer(queue: "asyncio.Queue[Optional[dict[str, Any]]]", sh: Shared, win: list[float], allv: list[float]) -> None:
    first = True
    while True:
        event = await queue.get()
        if event is None:
            return
        t = tick_time(event)
        if t is None:
            continue
        ms = (time.time_ns() - t) / 1e6
        allv.append(ms)
        if first:
            first = False
            sh.first_seen += 1
        if sh.recording:
            win.append(ms)
            sh.window_events += 1


async def run_job(claude_bin: str, env: dict[str, str], sh: Shared, win: list[float], allv: list[float]) -> int:
    proc = await asyncio.create_subprocess_exec(
        claude_bin,
        *CLI_ARGS,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(PROMPT.encode())
    await proc.stdin.drain()
    proc.stdin.close()
    queue: asyncio.Queue[Optional[dict[str, Any]]] = asyncio.Queue()
    stderr_task = asyncio.ensure_future(proc.stderr.read())
    cons = asyncio.ensure_future(consumer(queue, sh, win, allv))
    await reader(proc, queue)
    await cons
    await stderr_task
    return await proc.wait()


def rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def pct(v: list[float], q: float) -> float:
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(max(math.ceil(len(v) * q), 1), len(v)) - 1]


async def measure(args: argparse.Namespace, sh: Shared, out: dict[str, Any], t_submit: float) -> None:
    """The steady-state window, as in running.rs."""
    end = t_submit + max(args.seconds - 0.5, 0.0)
    while sh.first_seen < args.jobs and time.monotonic() < end:
        await asyncio.sleep(0.01)
    await asyncio.sleep(1.0)
    c0, t0 = cpu(), time.monotonic()
    sh.recording = True
    await asyncio.sleep(max(end - time.monotonic(), 0.0))
    sh.recording = False
    out["cpu_s"] = cpu() - c0
    out["window_s"] = time.monotonic() - t0
    out["rss_steady"] = rss()
    out["events"] = sh.window_events
    out["running_at_start"] = args.jobs
    if out["window_s"] < 1.0:
        out["error"] = f"steady state too short ({out['window_s']:.2f} s)"


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    env = dict(
        os.environ,
        FAKE_CLAUDE_SCENARIO="ticker",
        FAKE_CLAUDE_INTERVAL_MS=str(args.interval_ms),
        FAKE_CLAUDE_SECONDS=str(args.seconds),
    )
    sh = Shared()
    win: list[float] = []
    allv: list[float] = []
    out: dict[str, Any] = {"jobs": args.jobs, "rss_before": rss(), "error": None}
    t_submit = time.monotonic()
    tasks = [asyncio.ensure_future(run_job(args.claude_bin, env, sh, win, allv)) for _ in range(args.jobs)]
    await measure(args, sh, out, t_submit)
    codes = await asyncio.gather(*tasks, return_exceptions=True)
    failed = [c for c in codes if c != 0]
    out["failed"] = len(failed)
    if failed and out["error"] is None:
        out["error"] = f"exit statuses: {failed[:3]}"
    out["ticks_total"] = len(allv)
    out["p50_ms"] = pct(win, 0.5)
    out["p99_ms"] = pct(win, 0.99)
    out["max_ms"] = max(win) if win else float("nan")
    out["p99_all_ms"] = pct(allv, 0.99)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claude-bin", required=True)
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--interval-ms", type=int, default=10)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        out = asyncio.run(main_async(args))
    except Exception as e:  # one JSON line, whatever happens
        out = {"error": f"{type(e).__name__}: {e}"}
    out = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}
    print(json.dumps(out))
    sys.exit(0 if not out.get("error") else 1)


if __name__ == "__main__":
    main()
