"""job.events(): replay then follow, typed fields, resume with after=seq."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import claude_jobs
from jobs_helpers import fake_env, make_manager


async def collect(stream: claude_jobs.EventStream) -> list[claude_jobs.JobEvent]:
    return [ev async for ev in stream]


@pytest.mark.asyncio
async def test_replay_after_the_end(manager: claude_jobs.JobManager) -> None:
    job = await manager.submit(prompt="hello")
    await job.wait()
    events = await collect(job.events())
    types = [e.type for e in events]
    assert types[0] == "queued" and types[-1] == "finished"
    assert {"started", "init", "assistant_text", "result"} <= set(types)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(e.at_ms > 0 for e in events)
    started = next(e for e in events if e.type == "started")
    assert started.pid > 0 and started["isolation"] in ("cgroup-v1", "cgroup-v2", "none")
    assert started.attempt == 1
    text = next(e for e in events if e.type == "assistant_text")
    assert text.text == "echo: hello" and text["text"] == text.data["text"]
    result = next(e for e in events if e.type == "result")
    assert result.is_error is False and result.usage["input_tokens"] > 0
    finished = events[-1]
    assert finished.state == "succeeded" and finished.error is None
    # Mapping and JSON forms.
    d = finished.to_dict()
    assert d == {"type": "finished", "seq": finished.seq, "at_ms": finished.at_ms, "state": "succeeded", "error": None}
    assert json.loads(finished.to_json()) == d
    assert dict(finished) == d and finished.keys()[:3] == ["type", "seq", "at_ms"]
    assert "state" in finished and finished.get("missing", 1) == 1
    with pytest.raises(AttributeError):
        _ = finished.no_such_field
    with pytest.raises(KeyError):
        _ = finished["no_such_field"]
    assert events == await collect(job.events())


@pytest.mark.asyncio
async def test_resume_after_seq(manager: claude_jobs.JobManager) -> None:
    job = await manager.submit(prompt="hello")
    await job.wait()
    everything = await collect(job.events())
    stream = job.events(after=3)
    rest = await collect(stream)
    assert rest == everything[3:]
    assert stream.position == everything[-1].seq
    assert await collect(job.events(after=everything[-1].seq)) == []


@pytest.mark.asyncio
async def test_event_batches_hold_the_same_events_in_lists_of_at_most_max(manager: claude_jobs.JobManager) -> None:
    job = await manager.submit(prompt="hello")
    await job.wait()
    everything = await collect(job.events())
    # A finished job: every event is there, so each list is full but the last.
    batches = job.event_batches(after=1, max=3)
    lists = [b async for b in batches]
    sizes = [len(b) for b in lists]
    assert all(n == 3 for n in sizes[:-1]) and 1 <= sizes[-1] <= 3, sizes
    assert [e for b in lists for e in b] == everything[1:]
    assert batches.position == everything[-1].seq
    # Live: every event once, in order, ending with finished.
    slow = await manager.submit(prompt="x", env=fake_env("slow", FAKE_CLAUDE_SECONDS="0.5", FAKE_CLAUDE_INTERVAL_MS="50"))
    live = [e async for b in slow.event_batches() for e in b]
    assert [e.seq for e in live] == list(range(1, len(live) + 1)) and live[-1].type == "finished"
    for bad in (0, 10_001, -1):
        with pytest.raises(claude_jobs.InvalidSpecError) as err:
            job.event_batches(max=bad)
        assert err.value.field == "max" and str(bad) in str(err.value)


@pytest.mark.asyncio
async def test_live_events_while_running(manager: claude_jobs.JobManager) -> None:
    job = await manager.submit(
        prompt="x", env=fake_env("slow", FAKE_CLAUDE_SECONDS="1", FAKE_CLAUDE_INTERVAL_MS="100")
    )
    states_at_ticks: list[str] = []
    seen: list[str] = []
    async for ev in job.events():
        seen.append(ev.type)
        if ev.type == "assistant_text":
            states_at_ticks.append(job.state)
    assert seen[-1] == "finished"
    assert states_at_ticks and states_at_ticks[0] == "running"  # delivered live, not at the end
    assert job.state == "succeeded"


@pytest.mark.asyncio
async def test_two_subscribers_see_the_same_events(manager: claude_jobs.JobManager) -> None:
    job = await manager.submit(
        prompt="x", env=fake_env("slow", FAKE_CLAUDE_SECONDS="0.5", FAKE_CLAUDE_INTERVAL_MS="100")
    )
    a, b = await asyncio.gather(collect(job.events()), collect(job.events()))
    assert a == b and a[-1].type == "finished"


@pytest.mark.asyncio
async def test_tool_use_events(manager: claude_jobs.JobManager) -> None:
    job = await manager.submit(prompt="x", env=fake_env("tool-use"), allowed_tools=["Write"])
    events = await collect(job.events())
    tool = next(e for e in events if e.type == "tool_use")
    assert tool.name == "Write" and isinstance(tool.input, dict)
    res = next(e for e in events if e.type == "tool_result")
    assert res.is_error is False
    assert (await job.wait()).num_turns == 2


@pytest.mark.asyncio
async def test_abandoned_stream_is_harmless(manager: claude_jobs.JobManager) -> None:
    job = await manager.submit(prompt="x", env=fake_env("slow", FAKE_CLAUDE_SECONDS="30"))
    stream = job.events()
    nxt = asyncio.ensure_future(stream.__anext__())
    first = await nxt
    assert first.type == "queued"
    # Cancel an __anext__ that is waiting: the stream stays usable.
    pending = asyncio.ensure_future(asyncio.wait_for(collect(job.events(after=1_000)), 0.2))
    with pytest.raises(asyncio.TimeoutError):
        await pending
    assert await job.cancel()
    rest = await collect(stream)
    assert rest[-1].type == "finished" and rest[0].seq == 2


@pytest.mark.asyncio
async def test_event_buffer_bytes_is_an_option(fake_bin: Path, data_dir: Path) -> None:
    with pytest.raises(claude_jobs.InvalidSpecError) as err:
        make_manager(fake_bin, data_dir, event_buffer_bytes=-1)
    assert err.value.field == "event_buffer_bytes"
    # A log bounded to almost nothing keeps the newest event: `finished`.
    m = make_manager(fake_bin, data_dir, event_buffer_bytes=1, store_url="memory")
    try:
        job = await m.submit(prompt="hello")
        info = await job.wait()
        assert info.state == "succeeded"
        events = await collect(job.events())
        assert events and events[-1].type == "finished"
    finally:
        await m.shutdown(drain_timeout=5)
