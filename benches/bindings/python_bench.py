#!/usr/bin/env python3
"""Item 5: submit -> wait of trivial jobs, one at a time, through the Python
binding (`claude_jobs`). Same manager options as the Rust reference
(`claude-jobs-bench child ... sequential`): isolation off, max_concurrent 3,
the memory store, the monitor practically off. Prints one JSON line:

    {"wall_s": ..., "jobs": N, "failed": F, "error": ..., "self_cpu_s": ...}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time

import claude_jobs

PROMPT = "benchmark job: say ok"
ENV = {"FAKE_CLAUDE_SCENARIO": "trivial"}


async def one(manager: "claude_jobs.JobManager") -> str | None:
    job = await manager.submit(prompt=PROMPT, env=ENV)
    info = await job.wait()
    state = str(getattr(info, "state", info))
    return None if state.endswith("succeeded") else f"{state}: {getattr(info, 'error', '')}"


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claude-bin", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--jobs", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=50)
    a = ap.parse_args()

    manager = claude_jobs.JobManager(
        claude_bin=a.claude_bin,
        data_dir=a.data_dir,
        max_concurrent=3,
        isolation="off",
        store_url="memory",
        monitor_interval=3600,
    )
    for _ in range(a.warmup):
        await one(manager)
    errors = []
    c0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(a.jobs):
        err = await one(manager)
        if err:
            errors.append(err)
    wall = time.perf_counter() - t0
    c1 = resource.getrusage(resource.RUSAGE_SELF)
    await manager.shutdown(5)
    print(json.dumps({
        "wall_s": wall,
        "jobs": a.jobs,
        "failed": len(errors),
        "error": errors[0] if errors else None,
        "self_cpu_s": (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime),
        "store": "memory",
    }))


if __name__ == "__main__":
    asyncio.run(main())
