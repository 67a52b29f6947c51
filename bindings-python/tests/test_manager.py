"""JobManager: options, async with, get/list, what submit passes to the CLI, templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import claude_jobs
from jobs_helpers import fake_env, make_manager


def recorded(path: Path) -> dict[str, Any]:
    """What fake-claude saw (FAKE_CLAUDE_RECORD): argv, stdin, env, cwd."""
    rec: dict[str, Any] = json.loads(path.read_text().splitlines()[0])
    return rec


@pytest.mark.asyncio
async def test_async_with_shuts_down(fake_bin: Path, data_dir: Path) -> None:
    async with make_manager(fake_bin, data_dir) as manager:
        assert isinstance(manager, claude_jobs.JobManager)
        info = await (await manager.submit(prompt="x")).wait()
        assert info.state == "succeeded"
    with pytest.raises(claude_jobs.ShuttingDownError):
        await manager.submit(prompt="y")


@pytest.mark.asyncio
async def test_get_and_list(manager: claude_jobs.JobManager) -> None:
    a = await manager.submit(prompt="a", labels={"n": "1"})
    b = await manager.submit(prompt="b")
    await a.wait()
    await b.wait()
    again = await manager.get(a.id)
    assert again == a and hash(again) == hash(a) and again.info().labels == {"n": "1"}
    assert again.info().result == "echo: a"
    listed = await manager.list()
    assert [i.id for i in listed] == [a.id, b.id]  # oldest first
    assert all(isinstance(i, claude_jobs.JobInfo) for i in listed)


@pytest.mark.asyncio
async def test_properties(manager: claude_jobs.JobManager, data_dir: Path) -> None:
    assert manager.max_concurrent == 3 and manager.running == 0
    assert manager.isolation in ("cgroup-v1", "cgroup-v2", "none")
    assert manager.data_dir == data_dir.resolve()
    assert (manager.isolation == "none") == (manager.isolation_error is not None)
    assert "JobManager(" in repr(manager)


def test_max_concurrent_auto(fake_bin: Path, data_dir: Path) -> None:
    m = make_manager(fake_bin, data_dir, max_concurrent="auto", isolation="off")
    assert m.max_concurrent >= 1 and m.isolation == "none"


@pytest.mark.asyncio
async def test_submit_passes_everything_to_the_cli(fake_bin: Path, data_dir: Path, tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    workdir = tmp_path / "work"
    workdir.mkdir()
    manager = make_manager(
        fake_bin,
        data_dir,
        env={"FROM_MANAGER": "m"},
        cpus=0.5,
        memory="256M",
        default_limits={"pids": 64},
        default_timeout=120,
    )
    try:
        job = await manager.submit(
            "the prompt",
            env={"FAKE_CLAUDE_RECORD": str(record), "FROM_JOB": "j"},
            model="claude-test",
            allowed_tools=["Read", "Write"],
            max_turns=4,
            max_budget_usd=1.5,
            extra_args=["--fake-extra"],
            working_dir=workdir,
            memory=300 << 20,
        )
        info = await job.wait()
        assert info.state == "succeeded", info.error
        assert info.model == "claude-test"
        assert info.limits.cpus == 0.5 and info.limits.memory == 300 << 20 and info.limits.pids == 64
        rec = recorded(record)
        argv = rec["argv"]
        assert rec["stdin"].strip() == "the prompt"
        assert rec["env"]["FROM_MANAGER"] == "m" and rec["env"]["FROM_JOB"] == "j"
        assert Path(rec["cwd"]).resolve() == workdir.resolve()
        assert argv[argv.index("--model") + 1] == "claude-test"
        assert "--fake-extra" in argv and "--max-turns" in argv
        assert any("Read" in a and "Write" in a for a in argv)
        spec = job.spec()
        assert spec["limits"]["memory"] == 300 << 20 and spec["max_turns"] == 4
        assert spec["env"]["FROM_JOB"] == "j" and spec["allowed_tools"] == ["Read", "Write"]
    finally:
        await manager.shutdown()


@pytest.mark.asyncio
async def test_dependencies(manager: claude_jobs.JobManager) -> None:
    first = await manager.submit(prompt="first", env=fake_env("no-result"))
    second = await manager.submit(prompt="second", depends_on=[first])
    third = await manager.submit(prompt="third", depends_on=[second.id])
    assert (await first.wait()).state == "failed"
    assert (await second.wait()).state == "cancelled"
    info = await third.wait()
    assert info.state == "cancelled" and info.error and second.id in info.error


@pytest.mark.asyncio
async def test_templates(manager: claude_jobs.JobManager) -> None:
    names = {t["name"] for t in manager.templates()}
    assert {"brand-data", "brief", "draft"} <= names
    brief = next(t for t in manager.templates() if t["name"] == "brief")
    assert brief["variables"]["brand"]["required"] is True and brief["output"]["file"] == "brief.md"
    job = await manager.submit(template="brief", variables={"brand": "ACME", "research": "ACME sells anvils."})
    info = await job.wait()
    assert info.state == "succeeded", info.error
    assert info.template == "brief" and info.labels.get("template") == "brief"
    assert info.result and "ACME" in info.result
    assert info.outputs and info.outputs[0].exists()


@pytest.mark.asyncio
async def test_template_inputs_from_a_dependency(manager: claude_jobs.JobManager) -> None:
    research = await manager.submit(prompt="ACME research")
    brief = await manager.submit(template="brief", variables={"brand": "ACME"}, inputs={"research": research})
    assert (await brief.wait()).state == "succeeded"
    assert research.id in brief.spec()["depends_on"]


def test_resource_limits_class() -> None:
    lim = claude_jobs.ResourceLimits(cpus=0.5, memory="1G", pids=10)
    assert (lim.cpus, lim.memory, lim.pids) == (0.5, 1 << 30, 10)
    assert lim.to_dict() == {"cpus": 0.5, "memory": 1 << 30, "pids": 10}
    assert lim == claude_jobs.ResourceLimits(cpus=0.5, memory=1 << 30, pids=10)
    assert claude_jobs.parse_size("512M") == 512 << 20 and claude_jobs.parse_duration("10m") == 600.0
    with pytest.raises(claude_jobs.InvalidSpecError):
        claude_jobs.parse_size("lots")
    assert claude_jobs.JOB_STATES[-1] == "interrupted" and "succeeded" in claude_jobs.FINAL_STATES


@pytest.mark.asyncio
async def test_durable_store_outlives_the_manager(fake_bin: Path, data_dir: Path) -> None:
    first = make_manager(fake_bin, data_dir)
    assert first.store_url.startswith("sqlite:") and first.node_id
    health = first.store_health()
    assert health["healthy"] is True and set(health) == {"healthy", "last_error", "since_ms", "outages"}
    job = await first.submit(prompt="remember me")
    assert (await job.wait()).state == "succeeded"
    await first.shutdown()
    second = make_manager(fake_bin, data_dir)
    try:
        again = await second.get(job.id)
        info = again.info()
        assert info.state == "succeeded" and info.result == "echo: remember me"
        assert [e.type async for e in again.events()][-1] == "finished"
        assert [i.id for i in await second.list()] == [job.id]
    finally:
        await second.shutdown()


@pytest.mark.asyncio
async def test_memory_store(fake_bin: Path, data_dir: Path) -> None:
    manager = make_manager(fake_bin, data_dir, store_url="memory", max_concurrent=1)
    assert manager.store_url == "memory"
    running = await manager.submit(prompt="x", env=fake_env("slow", FAKE_CLAUDE_SECONDS="30"))
    queued = await manager.submit(prompt="y")
    await manager.shutdown(drain_timeout=0.1)
    assert (await running.wait()).state == "interrupted"
    assert (await queued.wait()).state == "interrupted"


@pytest.mark.asyncio
async def test_retries(fake_bin: Path, data_dir: Path) -> None:
    manager = make_manager(fake_bin, data_dir, retry_backoff=(0.05, 0.1))
    try:
        job = await manager.submit(prompt="x", env=fake_env("no-result"), max_attempts=2)
        info = await job.wait()
        assert info.state == "failed" and info.attempt == 2
        assert job.spec()["max_attempts"] == 2
    finally:
        await manager.shutdown()
