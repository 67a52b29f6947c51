"""Exceptions: classes by the core's ErrorKind, builtin bases, code/field/job_id."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

import claude_jobs
from claude_jobs import (
    CapacityExceededError,
    ClaudeJobsError,
    InvalidSpecError,
    IsolationError,
    JobNotFoundError,
    ShuttingDownError,
    SpawnError,
    StoreError,
    TemplateError,
)
from jobs_helpers import make_manager


def test_class_hierarchy() -> None:
    pairs: list[tuple[type[ClaudeJobsError], type[BaseException]]] = [
        (InvalidSpecError, ValueError),
        (JobNotFoundError, KeyError),
        (SpawnError, OSError),
        (IsolationError, OSError),
        (TemplateError, ValueError),
        (StoreError, RuntimeError),
        (ShuttingDownError, RuntimeError),
        (CapacityExceededError, ValueError),
    ]
    for cls, builtin in pairs:
        assert issubclass(cls, ClaudeJobsError) and issubclass(cls, builtin), cls
        e = cls("boom", code="X", field="f", job_id="j")
        assert (e.code, e.field, e.job_id, str(e)) == ("X", "f", "j", "boom")
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is cls and (back.code, back.field, back.job_id) == ("X", "f", "j")


@pytest.mark.asyncio
async def test_job_not_found(manager: claude_jobs.JobManager) -> None:
    with pytest.raises(JobNotFoundError) as err:
        await manager.get("no-such-job")
    assert err.value.code == "JOB_NOT_FOUND" and err.value.job_id == "no-such-job"
    assert err.value.field is None and isinstance(err.value, KeyError)
    assert str(err.value) == "job no-such-job not found"
    with pytest.raises(KeyError):
        await manager.cancel("no-such-job")


BAD_SUBMITS: list[tuple[str, dict[str, Any]]] = [
    ("prompt", {"prompt": "   "}),
    ("prompt", {"prompt": 42}),
    ("cpus", {"cpus": "lots"}),
    ("cpus", {"cpus": True}),
    ("cpus", {"cpus": 0}),
    ("cpus", {"cpus": 10_000}),
    ("memory", {"memory": "lots"}),
    ("memory", {"memory": 1024}),
    ("memory", {"memory": 1.5}),
    ("pids", {"pids": -1}),
    ("pids", {"pids": 0}),
    ("timeout", {"timeout": 0}),
    ("timeout", {"timeout": -3}),
    ("timeout", {"timeout": "soon"}),
    ("idle_timeout", {"idle_timeout": [1]}),
    ("env", {"env": {"A=B": "x"}}),
    ("env.A", {"env": {"A": 1}}),
    ("env", {"env": "A=B"}),
    ("allowed_tools", {"allowed_tools": "Write"}),
    ("allowed_tools", {"allowed_tools": [""]}),
    ("extra_args", {"extra_args": [1]}),
    ("max_turns", {"max_turns": 0}),
    ("max_turns", {"max_turns": "3"}),
    ("max_budget_usd", {"max_budget_usd": -1.0}),
    ("priority", {"priority": 1.5}),
    ("labels", {"labels": {1: "x"}}),
    ("run_as", {"run_as": "root"}),
    ("depends_on", {"depends_on": "abc"}),
    ("depends_on", {"depends_on": [3]}),
    ("working_dir", {"working_dir": 7}),
    ("variables", {"variables": ["a"]}),
    ("inputs", {"inputs": ["a"]}),
    ("output", {"output": {"file": "x.md"}}),
    ("max_attempts", {"max_attempts": 0}),
    ("max_attempts", {"max_attempts": "twice"}),
    ("run_as.gid", {"run_as": {"uid": 1000, "gid": -1}}),
    ("cpus", {"cpus": float("nan")}),
    ("memory", {"memory": object()}),
    # Unknown keywords are named, never dropped (a typo must not lose a limit).
    ("max_turn", {"max_turn": 3}),
    ("timeout_ms", {"timeout_ms": 5000}),
    ("output.path", {"output": {"file": "x.md", "folder": "out", "path": "y"}}),
]


@pytest.mark.asyncio
@pytest.mark.parametrize("field,kwargs", BAD_SUBMITS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_SUBMITS)])
async def test_bad_submit_names_the_field(manager: claude_jobs.JobManager, field: str, kwargs: dict[str, Any]) -> None:
    kwargs.setdefault("prompt", "hi")
    with pytest.raises(InvalidSpecError) as err:
        await manager.submit(**kwargs)
    assert err.value.field == field, err.value
    assert err.value.code == "INVALID_SPEC" and err.value.job_id is None
    assert isinstance(err.value, ValueError) and field in str(err.value)


@pytest.mark.asyncio
async def test_none_is_not_given(manager: claude_jobs.JobManager) -> None:
    job = await manager.submit("hi", model=None, priority=None, timeout=None, labels=None)
    assert (await job.wait()).state == "succeeded" and job.spec()["priority"] == 0


@pytest.mark.asyncio
async def test_host_checks_name_the_field(manager: claude_jobs.JobManager, tmp_path: Path) -> None:
    with pytest.raises(InvalidSpecError) as err:
        await manager.submit(prompt="x", working_dir=tmp_path / "missing")
    assert err.value.field == "working_dir"
    with pytest.raises(InvalidSpecError) as err:
        await manager.submit(prompt="x", depends_on=["no-such-job"])
    assert err.value.field == "depends_on"


BAD_OPTIONS: list[tuple[str, dict[str, Any]]] = [
    ("isolation", {"isolation": "bogus"}),
    ("isolation", {"isolation": 1}),
    ("max_concurrent", {"max_concurrent": 0}),
    ("max_concurrent", {"max_concurrent": "many"}),
    ("kill_grace", {"kill_grace": "a while"}),
    ("line_cap", {"line_cap": 10}),
    ("default_limits.memory", {"default_limits": {"memory": "huge"}}),
    ("default_limits.cpus", {"default_limits": {"cpus": -1}}),
    ("env.A", {"env": {"A": None}}),
    ("default_limits.disk", {"default_limits": {"disk": 1}}),
    ("per_job_config_dir", {"per_job_config_dir": "yes"}),
    ("claude_bin", {"claude_bin": 3}),
    ("recovery", {"recovery": "retry"}),
    ("retention.forever", {"retention": {"forever": 1}}),
    ("retention.jobs_days", {"retention": {"jobs_days": -1}}),
    ("retry_backoff", {"retry_backoff": 5}),
    ("retry_backoff.max", {"retry_backoff": {"base": 10, "max": 1}}),
    ("retry_backoff.base_ms", {"retry_backoff": {"base_ms": 10, "max": 1}}),
    ("heartbeat_interval", {"heartbeat_interval": 120, "lease_ttl": 60}),
    ("lease_ttl", {"lease_ttl": 0.01}),
    ("node_id", {"node_id": 1}),
    # Unknown options are named; `memory=` is `default_limits={"memory": ...}`.
    ("memory", {"memory": "1G"}),
    ("claude_binary", {"claude_binary": "claude"}),
    ("store", {"store": "memory"}),
]


@pytest.mark.parametrize("field,kwargs", BAD_OPTIONS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_OPTIONS)])
def test_bad_manager_option_names_it(fake_bin: Path, data_dir: Path, field: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidSpecError) as err:
        make_manager(fake_bin, data_dir, **kwargs)
    assert err.value.field == field and err.value.code == "INVALID_SPEC"
    assert field in str(err.value)


@pytest.mark.asyncio
async def test_bad_list_queries_name_the_field(manager: claude_jobs.JobManager) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("limit", {"limit": 0}),
        ("limit", {"limit": 5000}),
        ("label", {"label": "no-equals"}),
        ("state", {"state": "bogus"}),
        ("cursor", {"cursor": "not a cursor!"}),
        ("order", {"order": "oldest"}),
    ]
    for field, query in cases:
        with pytest.raises(InvalidSpecError) as err:
            await manager.list(**query)
        assert err.value.field == field, (query, err.value)


@pytest.mark.asyncio
async def test_spawn_error_for_a_missing_cli(data_dir: Path) -> None:
    manager = claude_jobs.JobManager(claude_bin="/nonexistent/claude", data_dir=data_dir)
    try:
        with pytest.raises(SpawnError) as err:
            await manager.submit(prompt="x")
        assert err.value.code == "SPAWN_FAILED" and err.value.field == "claude_bin"
        assert isinstance(err.value, OSError)
    finally:
        await manager.shutdown()


@pytest.mark.asyncio
async def test_template_errors(manager: claude_jobs.JobManager) -> None:
    with pytest.raises(TemplateError) as err:
        await manager.submit(template="no-such-template")
    assert err.value.code == "TEMPLATE_ERROR" and err.value.field == "template"
    assert isinstance(err.value, ValueError)
    with pytest.raises(TemplateError) as err:
        await manager.submit(template="brief", variables={"brand": "ACME"})  # research missing
    assert err.value.field is not None


@pytest.mark.asyncio
async def test_shutting_down(fake_bin: Path, data_dir: Path) -> None:
    manager = make_manager(fake_bin, data_dir)
    await manager.shutdown()
    await manager.shutdown()  # idempotent
    with pytest.raises(ShuttingDownError) as err:
        await manager.submit(prompt="x")
    assert err.value.code == "SHUTTING_DOWN" and isinstance(err.value, RuntimeError)


@pytest.mark.asyncio
async def test_errors_are_catchable_by_base(manager: claude_jobs.JobManager) -> None:
    with pytest.raises(ClaudeJobsError):
        await manager.get("nope")
    with pytest.raises(ClaudeJobsError):
        await manager.submit(prompt="x", cpus="x")  # type: ignore[arg-type]
