"""One capped job through claude_jobs, using only the binding's documented names.

    python examples/python/capped_job.py [--claude-bin PATH] [--data-dir DIR] [PROMPT]

Prints the job's state, cost and peak memory as JSON; exits 0 when it succeeded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

import claude_jobs


async def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description="One capped job through claude_jobs.")
    p.add_argument("--claude-bin", default="claude")
    p.add_argument("--data-dir", default="claude-jobs-data")
    p.add_argument("prompt", nargs="?", default="Write one sentence about coffee.")
    a = p.parse_args(argv)
    async with await claude_jobs.JobManager.create(
        claude_bin=a.claude_bin, data_dir=a.data_dir, max_concurrent=3, isolation="auto"
    ) as manager:
        job = await manager.submit(prompt=a.prompt, cpus=0.5, memory="512M", pids=256, timeout=600)
        info = await job.wait()
        status = await manager.status()
        print(
            json.dumps(
                {
                    "id": job.id,
                    "state": info.state,
                    "result": info.result,
                    "cost_usd": info.cost_usd,
                    "session_id": info.session_id,
                    "peak_memory_bytes": info.stats.peak_memory_bytes,
                    "memory_cap": info.limits.memory,
                    "isolation": status["isolation"],
                }
            )
        )
        return 0 if info.state == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
