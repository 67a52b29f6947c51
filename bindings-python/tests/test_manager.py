"""JobManager: options, create(), async with, get, status(), what submit passes to the CLI, templates."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import pytest

import claude_jobs
import claude_jobs.errors
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
    page = await manager.list()
    assert [i.id for i in page.jobs] == [b.id, a.id]  # newest first
    assert all(isinstance(i, claude_jobs.JobInfo) for i in page.jobs) and page.next_cursor is None


@pytest.mark.asyncio
async def test_status(manager: claude_jobs.JobManager, data_dir: Path) -> None:
    status = await manager.status()
    assert set(status) == set(claude_jobs.ManagerStatus.__annotations__)
    assert set(status["store_health"]) == set(claude_jobs.StoreHealth.__annotations__)
    assert status["max_concurrent"] == 3 and status["running"] == 0 and status["queued"] == 0
    assert status["isolation"] in ("cgroup-v1", "cgroup-v2", "none")
    assert status["data_dir"] == str(data_dir.resolve())
    assert (status["isolation"] == "none") == (status["isolation_error"] is not None)
    assert status["store_url"].startswith("sqlite:") and status["node_id"]
    assert status["store_health"]["healthy"] is True and status["shutting_down"] is False
    assert "JobManager(" in repr(manager)
    await manager.shutdown(drain_timeout=1)
    assert (await manager.status())["shutting_down"] is True


@pytest.mark.asyncio
async def test_max_concurrent_auto(fake_bin: Path, data_dir: Path) -> None:
    m = make_manager(fake_bin, data_dir, max_concurrent="auto", isolation="off")
    status = await m.status()
    assert status["max_concurrent"] >= 1 and status["isolation"] == "none"
    await m.shutdown()


@pytest.mark.asyncio
async def test_create_waits_without_blocking_the_loop(fake_bin: Path, data_dir: Path) -> None:
    m = await claude_jobs.JobManager.create(
        claude_bin=fake_bin, data_dir=data_dir, max_concurrent=2, kill_grace=1, store_url="memory"
    )
    try:
        assert isinstance(m, claude_jobs.JobManager)
        status = await m.status()
        assert status["max_concurrent"] == 2 and status["store_url"] == "memory"
        assert (await (await m.submit("made by create")).wait()).result == "echo: made by create"
    finally:
        await m.shutdown()
    with pytest.raises(claude_jobs.InvalidSpecError) as err:
        await claude_jobs.JobManager.create(claude_bin=fake_bin, data_dir=data_dir, max_concurent=2)  # type: ignore[call-arg]
    assert err.value.field == "max_concurent"
    with pytest.raises(claude_jobs.ManagerIOError):
        await claude_jobs.JobManager.create(claude_bin=fake_bin, data_dir=Path(__file__) / "data")


@pytest.mark.asyncio
async def test_submit_passes_everything_to_the_cli(fake_bin: Path, data_dir: Path, tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    workdir = tmp_path / "work"
    workdir.mkdir()
    manager = make_manager(
        fake_bin,
        data_dir,
        env={"FROM_MANAGER": "m"},
        default_limits={"cpus": 0.5, "memory": "256M", "pids": 64},
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
            timeout=90,
            idle_timeout="1m",
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
        assert "--model=claude-test" in argv
        assert "--fake-extra" in argv
        assert any(a.startswith("--max-turns=") for a in argv)
        assert any("Read" in a and "Write" in a for a in argv)
        spec = job.spec()
        assert spec["memory"] == 300 << 20 and spec["cpus"] == 0.5 and spec["max_turns"] == 4
        assert spec["env"]["FROM_JOB"] == "j" and spec["allowed_tools"] == ["Read", "Write"]
        assert spec["timeout"] == 90 and spec["idle_timeout"] == 60  # seconds, as given
        assert spec["working_dir"] == str(workdir) and spec["prompt"].strip() == "the prompt"
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
    templates = await manager.templates()
    names = {t["name"] for t in templates}
    assert {"brand-data", "brief", "draft"} <= names
    brief = next(t for t in templates if t["name"] == "brief")
    assert set(brief) == set(claude_jobs.TemplateInfo.__annotations__)
    assert brief["variables"]["brand"]["required"] is True and brief["output"] is not None
    assert brief["output"]["file"] == "brief.md" and brief["timeout"] == 300  # 5m, in seconds
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
    assert brief.spec()["inputs"] == {"research": research.id}


def test_helpers_and_the_cores_lists() -> None:
    assert claude_jobs.parse_size("512M") == 512 << 20 and claude_jobs.parse_duration("10m") == 600.0
    with pytest.raises(claude_jobs.InvalidSpecError):
        claude_jobs.parse_size("lots")
    # From the core (JobState::ALL, ErrorKind::ALL), in its order.
    assert claude_jobs.JOB_STATES[:2] == ["queued", "running"] and claude_jobs.JOB_STATES[-1] == "interrupted"
    assert claude_jobs.FINAL_STATES == claude_jobs.JOB_STATES[2:]
    assert tuple(claude_jobs.JOB_STATES) == typing.get_args(claude_jobs.JobStateName)
    assert set(claude_jobs.ERROR_CODES) == set(claude_jobs.errors.BY_CODE)
    assert claude_jobs.ERROR_CODES[0] == "INVALID_SPEC"


@pytest.mark.asyncio
async def test_durable_store_outlives_the_manager(fake_bin: Path, data_dir: Path) -> None:
    first = make_manager(fake_bin, data_dir)
    status = await first.status()
    assert status["store_url"].startswith("sqlite:") and status["node_id"]
    health = status["store_health"]
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
        assert [i.id for i in (await second.list()).jobs] == [job.id]
    finally:
        await second.shutdown()


@pytest.mark.asyncio
async def test_memory_store(fake_bin: Path, data_dir: Path) -> None:
    manager = make_manager(fake_bin, data_dir, store_url="memory", max_concurrent=1)
    assert (await manager.status())["store_url"] == "memory"
    running = await manager.submit(prompt="x", env=fake_env("slow", FAKE_CLAUDE_SECONDS="30"))
    queued = await manager.submit(prompt="y")
    await manager.shutdown(drain_timeout=0.1)
    assert (await running.wait()).state == "interrupted"
    assert (await queued.wait()).state == "interrupted"


@pytest.mark.asyncio
async def test_retries(fake_bin: Path, data_dir: Path) -> None:
    for backoff in ({"base": 0.05, "max": 0.1}, (0.05, "100ms")):
        manager = make_manager(fake_bin, data_dir, retry_backoff=backoff)
        try:
            job = await manager.submit(prompt="x", env=fake_env("no-result"), max_attempts=2)
            info = await job.wait()
            assert info.state == "failed" and info.attempt == 2
            assert job.spec()["max_attempts"] == 2
        finally:
            await manager.shutdown()
