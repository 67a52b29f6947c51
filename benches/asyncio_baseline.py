#!/usr/bin/env python3
"""The seed application's job runner, as a benchmark baseline.

The seed (a FastAPI service) runs each job with
``asyncio.create_subprocess_exec`` under an ``asyncio.Semaphore`` of
``MAX_CONCURRENT_JOBS`` (3): the Claude CLI with ``-p --output-format
stream-json --verbose``, the prompt written to its stdin, stdout read line by
line and each line parsed as JSON into the job's event list (the ``result``
line kept as the job's result), stderr collected, then the exit status
awaited. This file does exactly that, on the default asyncio event loop, for
``--jobs`` trivial jobs submitted at once (one task each, as the service
creates one task per request), and prints one JSON line:

    {"wall_s": ..., "jobs": N, "failed": F, "self_cpu_s": ..., "children_cpu_s": ...}

It does less than the manager does per job (no cgroups, no log files, no
store, no per-job working or config directory), so it is a lower bound of the
seed's own cost.

Usage: asyncio_baseline.py --claude-bin PATH [--jobs 2000] [--warmup 100]
       [--concurrency 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from typing import Any

CLI_ARGS = ["-p", "--output-format", "stream-json", "--verbose"]
PROMPT = "benchmark job: say ok"


async def run_job(sem: asyncio.Semaphore, claude_bin: str, env: dict[str, str], job: dict[str, Any]) -> None:
    async with sem:
        job["status"] = "running"
        proc = await asyncio.create_subprocess_exec(
            claude_bin,
            *CLI_ARGS,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write(job["prompt"].encode())
        await proc.stdin.drain()
        proc.stdin.close()
        stderr_task = asyncio.ensure_future(proc.stderr.read())
        async for raw in proc.stdout:
            line = raw.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                job["warnings"] += 1
                continue
            job["events"].append(event)
            if event.get("type") == "result":
                job["result"] = event
        job["stderr"] = (await stderr_task).decode(errors="replace")
        job["exit_code"] = await proc.wait()
        result = job["result"]
        ok = job["exit_code"] == 0 and result is not None and not result.get("is_error")
        job["status"] = "completed" if ok else "failed"


async def run_batch(claude_bin: str, n: int, concurrency: int) -> list[dict[str, Any]]:
    sem = asyncio.Semaphore(concurrency)
    env = dict(os.environ, FAKE_CLAUDE_SCENARIO="trivial")
    jobs = [
        {"prompt": PROMPT, "status": "queued", "events": [], "result": None, "warnings": 0}
        for _ in range(n)
    ]
    await asyncio.gather(*(run_job(sem, claude_bin, env, job) for job in jobs))
    return jobs


def cpu(who: int) -> float:
    ru = resource.getrusage(who)
    return ru.ru_utime + ru.ru_stime


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claude-bin", required=True)
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=3)
    a = ap.parse_args()

    await run_batch(a.claude_bin, a.warmup, a.concurrency)
    c0, k0, t0 = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    jobs = await run_batch(a.claude_bin, a.jobs, a.concurrency)
    wall = time.perf_counter() - t0
    failed = [j for j in jobs if j["status"] != "completed"]
    out = {
        "wall_s": wall,
        "jobs": a.jobs,
        "failed": len(failed),
        "error": (failed[0]["stderr"][:300] or f"exit {failed[0]['exit_code']}") if failed else None,
        "self_cpu_s": cpu(resource.RUSAGE_SELF) - c0,
        "children_cpu_s": cpu(resource.RUSAGE_CHILDREN) - k0,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
