"""Each final state, reached through the fake CLI, with the JobInfo fields."""

from __future__ import annotations

import pytest

import claude_jobs
from jobs_helpers import cgroups_required, fake_env, read_text


@pytest.mark.asyncio
async def test_succeeded_with_every_field(manager: claude_jobs.JobManager) -> None:
    job = await manager.submit(
        prompt="Write a brief",
        cpus=0.5,
        memory="512M",
        pids=256,
        timeout=600,
        labels={"team": "marketing"},
        priority=2,
    )
    assert isinstance(job, claude_jobs.Job)
    assert job.state in ("queued", "running", "succeeded")
    info = await job.wait()
    assert isinstance(info, claude_jobs.JobInfo)
    assert info.state == "succeeded" and info.is_final
    assert info.id == job.id and job.state == "succeeded"
    assert info.result == "echo: Write a brief"
    assert info.cost_usd is not None and info.cost_usd > 0
    assert info.session_id and info.num_turns == 1
    assert info.model == "claude-fake-model" and info.cli_version == "0.0.0-fake"
    assert info.exit_code == 0 and info.signal is None and info.error is None
    assert info.api_error_status is None
    assert info.usage is not None
    assert info.usage.input_tokens > 0 and info.usage["output_tokens"] > 0
    assert info.usage.cache_creation_input_tokens == 0 and info.usage.cache_read_input_tokens == 0
    assert info.isolation in ("cgroup-v1", "cgroup-v2", "none")
    assert info.labels == {"team": "marketing"} and info.priority == 2
    assert info.template is None and info.attempt == 1 and info.pid
    assert info.created_at <= (info.started_at or 0) <= (info.finished_at or 0)
    assert info.duration_ms is not None and info.duration_ms >= 0
    assert info.limits.cpus == 0.5 and info.limits.memory == 512 << 20 and info.limits.pids == 256
    assert info.outputs == []
    for field in info.stats.keys():
        assert info.stats[field] >= 0
    if info.isolation != "none":
        assert info.stats.peak_memory_bytes > 0
        assert info.stats.cpu_usage_usec > 0
    assert info.log_dir is not None and info.log_dir.is_dir()
    assert "echo: Write a brief" in read_text(info.log_dir / "stdout.log")
    # Mapping access and a JSON-ready dict.
    assert info["state"] == "succeeded" and "stats" in info and info.get("nope", 7) == 7
    d = info.to_dict()
    assert d["stats"]["peak_memory_bytes"] == info.stats.peak_memory_bytes
    assert d["log_dir"] == str(info.log_dir) and d["usage"]["input_tokens"] == info.usage.input_tokens
    assert set(d) == set(info.keys())
    assert job.info() == info


@pytest.mark.asyncio
async def test_failed_without_result(manager: claude_jobs.JobManager) -> None:
    job = await manager.submit(prompt="x", env=fake_env("no-result"))
    info = await job.wait()
    assert info.state == "failed"
    assert info.exit_code == 1 and info.error
    assert "fatal: something broke" in read_text(info.log_dir / "stderr.log" if info.log_dir else None)


@pytest.mark.asyncio
async def test_failed_on_error_result(manager: claude_jobs.JobManager) -> None:
    info = await (await manager.submit(prompt="x", env=fake_env("error-result"))).wait()
    assert info.state == "failed"
    assert info.api_error_status == 401
    assert info.result is not None and "Invalid API key" in info.result


@pytest.mark.asyncio
async def test_failed_exit_code(manager: claude_jobs.JobManager) -> None:
    job = await manager.submit(prompt="x", env=fake_env("exit-code", FAKE_CLAUDE_EXIT_CODE="3"))
    info = await job.wait()
    assert info.state == "failed" and info.exit_code == 3


@pytest.mark.asyncio
async def test_timed_out(manager: claude_jobs.JobManager) -> None:
    job = await manager.submit(prompt="x", timeout=0.5, env=fake_env("slow", FAKE_CLAUDE_SECONDS="30"))
    info = await job.wait()
    assert info.state == "timed_out"
    assert info.error and "timed out" in info.error


@pytest.mark.asyncio
async def test_idle_timeout(manager: claude_jobs.JobManager) -> None:
    job = await manager.submit(prompt="x", idle_timeout="500ms", env=fake_env("ignore-sigterm"))
    info = await job.wait()
    assert info.state == "timed_out"


@pytest.mark.asyncio
async def test_cancelled(manager: claude_jobs.JobManager) -> None:
    job = await manager.submit(prompt="x", env=fake_env("slow", FAKE_CLAUDE_SECONDS="30"))
    async for ev in job.events():
        if ev.type == "started":
            break
    assert await job.cancel() is True
    info = await job.wait()
    assert info.state == "cancelled"
    assert await job.cancel() is False  # already finished: nothing changes
    assert (await job.wait()).state == "cancelled"


@pytest.mark.asyncio
async def test_oom_killed(manager: claude_jobs.JobManager) -> None:
    status = await manager.status()
    if status["isolation"] == "none":
        assert not cgroups_required(), f"cgroups are required here but unusable: {status['isolation_error']}"
        pytest.skip(f"no cgroups here: {status['isolation_error']}")
    job = await manager.submit(prompt="x", memory="64M", env=fake_env("alloc", FAKE_CLAUDE_ALLOC_MB="512"))
    info = await job.wait()
    assert info.state == "oom_killed", info.error
    assert info.limits.memory == 64 << 20
    assert info.stats.oom_kills >= 1 or info.stats.memory_cap_hits >= 1
    assert info.stats.peak_memory_bytes <= 64 << 20
