"""Fork safety: a manager made before fork() does not break the child, which
can build its own manager and run jobs (multiprocessing's fork start method,
as gunicorn workers do)."""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.queues
import subprocess
import sys
from pathlib import Path
from typing import Any

import claude_jobs
from jobs_helpers import make_manager


def run_one(manager: claude_jobs.JobManager, prompt: str) -> tuple[str, str | None]:
    async def go() -> tuple[str, str | None]:
        info = await (await manager.submit(prompt=prompt)).wait()
        return info.state, info.result

    return asyncio.run(go())


def child(
    q: "multiprocessing.queues.Queue[Any]", inherited: claude_jobs.JobManager, fake_bin: Path, data_dir: Path
) -> None:
    try:
        try:
            _ = inherited.submit("from an inherited manager")
            q.put(("inherited", "usable"))
        except claude_jobs.ClaudeJobsError as e:
            q.put(("inherited", f"refused: {e}"))
        manager = make_manager(fake_bin, data_dir)
        state, result = run_one(manager, "from the child")
        asyncio.run(_shutdown(manager))
        q.put(("job", state, result))
    except BaseException as e:  # report, never hang the parent
        q.put(("error", repr(e)))


async def _shutdown(manager: claude_jobs.JobManager) -> None:
    await manager.shutdown()


def scenario(fake_bin: Path, tmp_path: Path) -> None:
    parent = make_manager(fake_bin, tmp_path / "parent")
    # The parent's runtime is busy before the fork (threads, a finished job).
    assert run_one(parent, "before fork") == ("succeeded", "echo: before fork")
    ctx = multiprocessing.get_context("fork")
    q: multiprocessing.queues.Queue[Any] = ctx.Queue()
    p = ctx.Process(target=child, args=(q, parent, fake_bin, tmp_path / "child"))
    p.start()
    try:
        first = q.get(timeout=60)
        second = q.get(timeout=60)
    finally:
        p.join(30)
        if p.is_alive():
            p.kill()
    assert first[0] == "inherited" and first[1].startswith("refused"), first
    assert "before a fork" in first[1]
    assert second == ("job", "succeeded", "echo: from the child"), second
    assert p.exitcode == 0
    # The parent is unaffected.
    assert run_one(parent, "after fork") == ("succeeded", "echo: after fork")
    asyncio.run(_shutdown(parent))
    print("fork scenario ok", flush=True)


def test_child_after_fork_runs_jobs(fake_bin: Path, tmp_path: Path) -> None:
    # In a fresh interpreter: the managers of the other tests in this process
    # (closed or dropped at any moment, closing SQLite connections on their
    # threads) must not be what forks with SQLite's global locks held.
    here = Path(__file__).parent
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
        "import test_fork; test_fork.scenario(Path(sys.argv[2]), Path(sys.argv[3]))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(here), str(fake_bin), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=200,
    )
    assert r.returncode == 0 and "fork scenario ok" in r.stdout, (r.returncode, r.stdout, r.stderr[-3000:])
