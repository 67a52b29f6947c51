"""Cancel kills the job's whole process tree (checked in /proc) and ends queued jobs at once."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import claude_jobs
from jobs_helpers import cgroups_required, fake_env, make_manager, pids_with_env, wait_until

MARKER = "CLAUDE_JOBS_PY_TEST_MARKER"


@pytest.mark.asyncio
async def test_cancel_leaves_no_process(manager: claude_jobs.JobManager) -> None:
    status = await manager.status()
    if status["isolation"] == "none":
        if cgroups_required():
            pytest.fail(f"cgroups are required here but unusable: {status['isolation_error']}")
        pytest.skip(f"no cgroups here: {status['isolation_error']}")
    marker = uuid.uuid4().hex
    # fork-tree: the CLI forks a child and a setsid double-forked daemon, then sleeps.
    job = await manager.submit(prompt="x", env={**fake_env("fork-tree"), MARKER: marker})
    assert await wait_until(lambda: len(pids_with_env(MARKER, marker)) >= 3, timeout=15), pids_with_env(
        MARKER, marker
    )
    assert await job.cancel() is True
    info = await job.wait()
    assert info.state == "cancelled"
    assert pids_with_env(MARKER, marker) == []


@pytest.mark.asyncio
async def test_cancel_a_queued_job(fake_bin: Path, data_dir: Path) -> None:
    manager = make_manager(fake_bin, data_dir, max_concurrent=1)
    try:
        running = await manager.submit(prompt="x", env=fake_env("slow", FAKE_CLAUDE_SECONDS="30"))
        queued = await manager.submit(prompt="y")
        assert await wait_until(lambda: running.state == "running")
        assert queued.state == "queued"
        assert await queued.cancel() is True
        info = await queued.wait()
        assert info.state == "cancelled" and info.started_at is None
        assert await manager.cancel(running.id) is True
        assert (await running.wait()).state == "cancelled"
    finally:
        await manager.shutdown(drain_timeout=5)


@pytest.mark.asyncio
async def test_shutdown_interrupts_running_jobs(fake_bin: Path, data_dir: Path) -> None:
    manager = make_manager(fake_bin, data_dir, max_concurrent=1)
    running = await manager.submit(prompt="x", env=fake_env("slow", FAKE_CLAUDE_SECONDS="30"))
    queued = await manager.submit(prompt="y")
    assert await wait_until(lambda: running.state == "running")
    await manager.shutdown(drain_timeout=0.2)
    assert (await running.wait()).state == "interrupted"
    # A durable store keeps queued jobs for the next manager; in memory they end.
    assert queued.state in ("queued", "interrupted")
