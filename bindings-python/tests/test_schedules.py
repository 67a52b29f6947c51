"""Schedules through the binding (issue 21): schedule / replace / list /
unschedule, errors naming the field, and real ticks on the fake CLI (one job
per tick, labelled, exactly once across two managers on one store)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path

import pytest

import claude_jobs
from claude_jobs import InvalidSpecError, Schedule
from jobs_helpers import make_manager


@pytest.mark.asyncio
async def test_schedule_replace_list_unschedule(manager: claude_jobs.JobManager) -> None:
    assert await manager.schedules() == []
    before = int(time.time() * 1000)
    made = await manager.schedule(
        "nightly", "0 2 * * *", "Summarize the day", timezone="Europe/Paris", memory="256M", timeout=90, labels={"k": "v"}
    )
    assert set(made) == set(Schedule.__annotations__)
    assert made["name"] == "nightly" and made["cron"] == "0 2 * * *"
    assert made["timezone"] == "Europe/Paris" and made["catch_up"] == "run_once"
    # The spec as submit's keywords: durations in seconds, sizes in bytes.
    assert made["spec"]["prompt"] == "Summarize the day"
    assert made["spec"]["timeout"] == 90 and made["spec"]["memory"] == 256 << 20
    assert made["spec"]["labels"] == {"k": "v"}
    # It starts now: no tick before it runs.
    assert made["last_tick_ms"] is not None and made["last_tick_ms"] >= before
    assert made["next_tick_ms"] is not None and made["next_tick_ms"] > before
    assert made["created_ms"] >= before and made["updated_ms"] >= made["created_ms"]

    other = await manager.schedule("hourly", "0 * * * *", prompt="Check", catch_up="skip")
    assert other["timezone"] == "UTC" and other["catch_up"] == "skip"
    assert [s["name"] for s in await manager.schedules()] == ["hourly", "nightly"]

    # The same name replaces it (its creation time kept or not, the new fields win).
    replaced = await manager.schedule("nightly", "30 3 * * 1-5", "Weekdays only")
    assert replaced["cron"] == "30 3 * * 1-5" and replaced["spec"]["prompt"] == "Weekdays only"
    assert replaced["timezone"] == "UTC" and replaced["spec"]["timeout"] is None
    listed = {s["name"]: s for s in await manager.schedules()}
    assert len(listed) == 2 and listed["nightly"]["cron"] == "30 3 * * 1-5"

    assert await manager.unschedule("nightly") is True
    assert await manager.unschedule("nightly") is False
    assert [s["name"] for s in await manager.schedules()] == ["hourly"]
    # A job's spec round-trips: schedule(**s["spec"]) gives the same spec.
    again = await manager.schedule("copy", "0 * * * *", **other["spec"])
    assert again["spec"] == other["spec"]


@pytest.mark.asyncio
async def test_bad_fields_raise_invalid_spec_naming_them(manager: claude_jobs.JobManager) -> None:
    cases: list[tuple[str, dict[str, object]]] = [
        ("cron", {"cron": "not a cron"}),
        ("cron", {"cron": "* * *"}),
        ("cron", {"cron": "61 * * * *"}),
        ("timezone", {"timezone": "Mars/Olympus_Mons"}),
        ("catch_up", {"catch_up": "sometimes"}),
        ("memory", {"memory": "lots"}),
        ("max_turn", {"max_turn": 3}),
    ]
    for field, kwargs in cases:
        args: dict[str, object] = {"cron": "*/5 * * * *", "prompt": "x", **kwargs}
        with pytest.raises(InvalidSpecError) as err:
            await manager.schedule("bad", **args)  # type: ignore[arg-type]
        assert err.value.field == field, (kwargs, err.value)
        assert err.value.code == "INVALID_SPEC" and isinstance(err.value, ValueError)
        assert field in str(err.value)
    with pytest.raises(InvalidSpecError) as nerr:
        await manager.schedule("", "*/5 * * * *", "x")
    assert nerr.value.field == "name"
    # Nothing was stored.
    assert await manager.schedules() == []


@pytest.mark.asyncio
async def test_schedule_reads_the_cores_spec_fields(manager: claude_jobs.JobManager) -> None:
    """schedule() takes exactly submit()'s spec keywords (the core names an unknown one)."""
    from claude_jobs import types

    with pytest.raises(InvalidSpecError) as err:
        manager.schedule("n", "* * * * *", "x", no_such_key=1)  # type: ignore[call-arg]
    assert err.value.field == "no_such_key"
    fields = str(err.value).split("expected one of: ", 1)[1].split(")", 1)[0].split(", ")
    assert set(fields) == set(types.JobSpecArgs.__annotations__) | {"prompt"}


@pytest.mark.asyncio
async def test_every_two_seconds_one_job_per_tick_across_two_managers(
    manager: claude_jobs.JobManager, fake_bin: Path, tmp_path: Path
) -> None:
    """Two managers on one store: each tick of `*/2 * * * * *` submits exactly
    one job, labelled schedule=<name> and schedule_tick=<its time>."""
    store = (await manager.status())["store_url"]
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    async with make_manager(fake_bin, other_dir, store_url=store) as other:
        start = time.time()
        made = await manager.schedule("every2", "*/2 * * * * *", "tick", labels={"k": "v"})
        assert made["next_tick_ms"] is not None and made["next_tick_ms"] % 2000 == 0
        await asyncio.sleep(7)
        seen = await manager.list(label="schedule=every2")
        assert await other.unschedule("every2") is True
        elapsed = time.time() - start
        jobs = seen.jobs
        ticks = sorted(j.labels["schedule_tick"] for j in jobs)
        # One job per tick: no tick twice, 3 or 4 even seconds in ~7 s.
        assert len(ticks) == len(set(ticks)), ticks
        assert 3 <= len(jobs) <= int(elapsed / 2) + 1, (elapsed, ticks)
        for j in jobs:
            assert j.labels["schedule"] == "every2" and j.labels["k"] == "v", j.labels
        # Whichever manager ran them, they all succeed with the schedule's prompt.
        for j in jobs:
            info = await (await manager.get(j.id)).wait()
            assert info.state == "succeeded" and info.result == "echo: tick", info.error
        # Consecutive ticks are 2 s apart: none was skipped either.
        at = [datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() for t in ticks]
        assert all(b - a == 2 for a, b in zip(at, at[1:])), ticks
        assert all(t % 2 == 0 for t in at), ticks
        # Unscheduled: no more jobs.
        count = len((await manager.list(label="schedule=every2")).jobs)
        await asyncio.sleep(2.5)
        assert len((await other.list(label="schedule=every2")).jobs) == count


@pytest.mark.asyncio
async def test_catch_up_after_every_manager_was_down(fake_bin: Path, data_dir: Path) -> None:
    """A tick due while no manager ran: `run_once` submits it when the next
    manager starts, `skip` drops it."""
    first = make_manager(fake_bin, data_dir)
    # Once a minute, at a second 2 to 3 s from now: the tick falls in the downtime.
    tick_at = int(time.time()) + 3
    cron = f"{tick_at % 60} * * * * *"
    await first.schedule("ro", cron, "missed", catch_up="run_once")
    await first.schedule("sk", cron, "missed", catch_up="skip")
    await first.shutdown(drain_timeout=5)
    # Past the tick and past the grace in which a late tick still counts as on time.
    await asyncio.sleep(max(0.0, tick_at + 4 - time.time()))
    async with make_manager(fake_bin, data_dir) as second:
        await asyncio.sleep(1.5)
        caught = (await second.list(label="schedule=ro")).jobs
        skipped = (await second.list(label="schedule=sk")).jobs
        assert len(caught) == 1 and skipped == [], (caught, skipped)
        tick = datetime.fromisoformat(caught[0].labels["schedule_tick"].replace("Z", "+00:00")).timestamp()
        assert tick == tick_at, (caught[0].labels, tick_at)
        assert (await (await second.get(caught[0].id)).wait()).state == "succeeded"
        ro = {s["name"]: s for s in await second.schedules()}["ro"]
        assert ro["last_tick_ms"] == tick_at * 1000
