"""A script that used the binding exits cleanly: the binding's tasks end
before the interpreter finalizes (a task that took the GIL during
finalization used to crash the process with SIGSEGV after its last line,
about one run in ten)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import asyncio, sys
import claude_jobs

async def main() -> None:
    m = claude_jobs.JobManager(claude_bin=sys.argv[1], data_dir=sys.argv[2], store_url="memory",
                               isolation="off", max_concurrent=3)
    for _ in range(100):
        job = await m.submit(prompt="hi", env={"FAKE_CLAUDE_SCENARIO": "trivial"})
        await job.wait()
    await m.shutdown(5)
    print("done", flush=True)

asyncio.run(main())
"""


def test_scripts_exit_cleanly(fake_bin: Path, tmp_path: Path) -> None:
    for i in range(15):
        r = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(fake_bin), str(tmp_path / f"d{i}")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0 and r.stdout.strip() == "done", (i, r.returncode, r.stdout, r.stderr[-2000:])
