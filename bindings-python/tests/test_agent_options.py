"""The agent options (issue 16) through the binding: each spec field reaches the
CLI as `--flag=value` (the fake CLI records its argv), a resumed and a forked
job, bad values named. The real CLI runs them in test_real_cli.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import claude_jobs
from claude_jobs import InvalidSpecError
from jobs_helpers import make_manager


def recorded(path: Path) -> dict[str, Any]:
    """What fake-claude saw (FAKE_CLAUDE_RECORD): argv, stdin, env, cwd."""
    rec: dict[str, Any] = json.loads(path.read_text().splitlines()[0])
    return rec


def flag(argv: list[str], name: str) -> str:
    """The value of the one `--name=value` argument."""
    values = [a.split("=", 1)[1] for a in argv if a.startswith(f"--{name}=")]
    assert len(values) == 1, (name, argv)
    return values[0]


SCHEMA = {"type": "object", "properties": {"brand": {"type": "string"}}, "required": ["brand"]}


@pytest.mark.asyncio
async def test_every_agent_option_reaches_the_cli(manager: claude_jobs.JobManager, tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    extra = tmp_path / "extra"
    extra.mkdir()
    mcp = {"echo": {"command": "/bin/true", "args": ["-x"], "env": {"TOKEN": "s3cret"}}}
    job = await manager.submit(
        "options",
        env={"FAKE_CLAUDE_RECORD": str(record)},
        disallowed_tools=["Bash(rm *)", "WebFetch"],
        permission_mode="acceptEdits",
        system_prompt="--be brief",
        append_system_prompt="Answer in French.",
        mcp_servers=mcp,
        add_dirs=[extra],
        settings={"cleanupPeriodDays": 3},
        setting_sources=["user", "project"],
        fallback_model="claude-small",
        effort="high",
        json_schema=SCHEMA,
    )
    info = await job.wait()
    assert info.state == "succeeded", info.error
    argv: list[str] = recorded(record)["argv"]
    assert flag(argv, "disallowedTools") == "Bash(rm *),WebFetch"
    assert flag(argv, "permission-mode") == "acceptEdits"
    assert flag(argv, "system-prompt") == "--be brief"  # a value, never a flag
    assert "--be brief" not in argv
    assert flag(argv, "append-system-prompt") == "Answer in French."
    assert flag(argv, "add-dir") == str(extra.resolve())
    assert flag(argv, "setting-sources") == "user,project"
    assert flag(argv, "fallback-model") == "claude-small"
    assert flag(argv, "effort") == "high"
    assert json.loads(flag(argv, "json-schema")) == SCHEMA
    assert "--strict-mcp-config" in argv and "--fork-session" not in argv
    assert json.loads(Path(flag(argv, "mcp-config")).read_text()) == {"mcpServers": mcp}
    assert json.loads(Path(flag(argv, "settings")).read_text()) == {"cleanupPeriodDays": 3}
    # The spec as run gives the same keywords back.
    spec = job.spec()
    assert spec["disallowed_tools"] == ["Bash(rm *)", "WebFetch"] and spec["permission_mode"] == "acceptEdits"
    assert spec["json_schema"] == SCHEMA and spec["mcp_servers"] == mcp and spec["effort"] == "high"
    assert spec["setting_sources"] == ["user", "project"] and spec["add_dirs"] == [str(extra.resolve())]
    # The info's new keys: the fake CLI has no structured output and no denials.
    assert info.structured_output is None and info.permission_denials == []
    assert info.resumed_session is None and info.work_dir is not None and info.config_dir is not None
    for key in ("structured_output", "permission_denials", "resumed_session", "work_dir", "config_dir"):
        assert key in info.keys() and key in info.to_dict()
    assert isinstance(info.to_dict()["work_dir"], str)


@pytest.mark.asyncio
async def test_tenant_idempotency_key_and_webhook_url_round_trip(manager: claude_jobs.JobManager) -> None:
    job = await manager.submit("t", tenant="team-a", idempotency_key="k-1", webhook_url="http://127.0.0.1:9/hook")
    info = await job.wait()
    assert info.tenant == "team-a" and info["tenant"] == "team-a"
    spec = job.spec()
    assert (spec["tenant"], spec["idempotency_key"], spec["webhook_url"]) == ("team-a", "k-1", "http://127.0.0.1:9/hook")
    again = await manager.submit("another prompt", tenant="team-a", idempotency_key="k-1")
    assert again.id == job.id, "the same key within 24 h gives the first job"
    other = await manager.submit("t", tenant="team-b", idempotency_key="k-1")
    assert other.id != job.id, "keys are per tenant"
    page = await manager.list(tenant="team-a")
    assert [i.id for i in page.jobs] == [job.id]


@pytest.mark.asyncio
async def test_a_resumed_job_continues_the_session(manager: claude_jobs.JobManager, tmp_path: Path) -> None:
    first = await (await manager.submit("first question")).wait()
    assert first.state == "succeeded" and first.session_id
    record = tmp_path / "resumed.json"
    job = await manager.submit("second question", resume=first.id, env={"FAKE_CLAUDE_RECORD": str(record)})
    info = await job.wait()
    assert info.state == "succeeded", info.error
    rec = recorded(record)
    assert flag(rec["argv"], "resume") == first.session_id and "--fork-session" not in rec["argv"]
    assert info.resumed_session == first.session_id and info.session_id == first.session_id
    assert info.work_dir == first.work_dir and info.config_dir == first.config_dir
    assert Path(rec["cwd"]).resolve() == Path(str(first.work_dir)).resolve()
    assert job.spec()["resume"] == first.id
    resuming = [ev async for ev in job.events() if ev.type == "resuming"]
    assert len(resuming) == 1
    assert resuming[0].data == {"session_id": first.session_id, "from_job": first.id, "fork": False}
    # Forked: a new session that starts from the first one's.
    fork_record = tmp_path / "forked.json"
    forked_job = await manager.submit(
        "third question", resume=job, fork_session=True, env={"FAKE_CLAUDE_RECORD": str(fork_record)}
    )
    forked = await forked_job.wait()
    assert forked.state == "succeeded", forked.error
    argv = recorded(fork_record)["argv"]
    assert flag(argv, "resume") == first.session_id and "--fork-session" in argv
    assert forked.session_id and forked.session_id != first.session_id
    assert forked.resumed_session == first.session_id
    ev = [e async for e in forked_job.events() if e.type == "resuming"]
    assert ev[0]["fork"] is True and ev[0]["from_job"] == job.id


BAD_AGENT_OPTIONS: list[tuple[str, dict[str, Any]]] = [
    ("permission_mode", {"permission_mode": "yolo"}),
    ("effort", {"effort": "extreme"}),
    ("json_schema", {"json_schema": "an object please"}),
    ("json_schema", {"json_schema": ["type", "object"]}),
    ("mcp_servers.echo", {"mcp_servers": {"echo": "not an object"}}),
    ("setting_sources", {"setting_sources": ["everywhere"]}),
    ("fork_session", {"fork_session": True}),  # without resume
    ("system_prompt", {"system_prompt": "nul\0byte"}),
]


@pytest.mark.asyncio
@pytest.mark.parametrize("field,kwargs", BAD_AGENT_OPTIONS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_AGENT_OPTIONS)])
async def test_bad_agent_options_name_the_field(manager: claude_jobs.JobManager, field: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidSpecError) as err:
        await manager.submit("hi", **kwargs)
    assert err.value.field is not None and err.value.field.startswith(field.split(".")[0]), err.value
    assert err.value.code == "INVALID_SPEC"
    # Still serving.
    assert (await (await manager.submit("still here")).wait()).state == "succeeded"


@pytest.mark.asyncio
async def test_resume_of_an_unknown_or_live_job_names_resume(fake_bin: Path, data_dir: Path, tmp_path: Path) -> None:
    manager = make_manager(fake_bin, data_dir)
    try:
        with pytest.raises(InvalidSpecError) as err:
            await manager.submit("x", resume="no-such-job")
        assert err.value.field == "resume" and "no-such-job" in str(err.value)
        slow = await manager.submit("slow\nfake-scenario: slow", env={"FAKE_CLAUDE_SECONDS": "20"})
        with pytest.raises(InvalidSpecError) as err:
            await manager.submit("x", resume=slow)
        assert err.value.field == "resume"
        await slow.cancel()
        with pytest.raises(InvalidSpecError) as err:
            await manager.submit("x", add_dirs=[tmp_path / "missing"])
        assert err.value.field is not None and err.value.field.startswith("add_dirs")
    finally:
        await manager.shutdown(drain_timeout=2)
