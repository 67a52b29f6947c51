"""Many waiters, the concurrency cap, and an event loop that never blocks."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

import claude_jobs
from jobs_helpers import fake_env, make_manager


@pytest.mark.asyncio
async def test_100_concurrent_waits(fake_bin: Path, data_dir: Path) -> None:
    manager = make_manager(fake_bin, data_dir, max_concurrent=3)
    try:
        jobs = [await manager.submit(prompt=f"job {i}", env=fake_env("trivial")) for i in range(25)]
        peak = 0

        async def watch() -> None:
            nonlocal peak
            while any(not j.info().is_final for j in jobs):
                peak = max(peak, (await manager.status())["running"])
                await asyncio.sleep(0.005)

        watcher = asyncio.create_task(watch())
        waits = [j.wait() for j in jobs for _ in range(4)]
        assert len(waits) == 100
        infos = await asyncio.wait_for(asyncio.gather(*waits), 60)
        await watcher
        assert [i.state for i in infos] == ["succeeded"] * 100
        assert {i.id for i in infos} == {j.id for j in jobs}
        assert 1 <= peak <= 3
        listed = (await manager.list()).jobs
        assert len(listed) == 25 and all(i.state == "succeeded" for i in listed)
    finally:
        await manager.shutdown()


@pytest.mark.asyncio
async def test_event_loop_keeps_ticking_while_a_job_runs(manager: claude_jobs.JobManager) -> None:
    ticks: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    t = asyncio.create_task(ticker())
    job = await manager.submit(prompt="x", env=fake_env("slow", FAKE_CLAUDE_SECONDS="1.5", FAKE_CLAUDE_INTERVAL_MS="100"))
    n_events = 0
    async for _ in job.events():
        n_events += 1
    info = await job.wait()
    done.set()
    await t
    assert info.state == "succeeded" and n_events > 10
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    # ~150 ticks at 10 ms over 1.5 s; a wait that blocked the loop would leave one
    # gap as long as the job. Loose on purpose (as in the Node test): a loaded
    # 2-core machine delays timers by a few hundred ms.
    assert len(ticks) > 30, len(ticks)
    assert max(gaps) < 1.0, max(gaps)


def test_constructor_needs_no_event_loop_and_releases_the_gil(fake_bin: Path, data_dir: Path) -> None:
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()
    counter = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal counter
        while not stop.is_set():
            counter += 1

    th = threading.Thread(target=spin)
    th.start()
    try:
        managers = [make_manager(fake_bin, data_dir / str(i)) for i in range(3)]
    finally:
        stop.set()
        th.join()
    assert counter > 0

    async def use() -> str:
        job = await managers[0].submit(prompt="x")
        info = await job.wait()
        for m in managers:
            assert (await m.status())["max_concurrent"] == 3
            await m.shutdown()
        return info.state

    assert asyncio.run(use()) == "succeeded"
