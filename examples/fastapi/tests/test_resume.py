"""POST /api/jobs/{id}/resume and the agent options over HTTP, on the fake CLI
(which records its argv: FAKE_CLAUDE_RECORD in every job's env)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from app import create_app
from app_helpers import auth, wait_final
from settings import Settings

A = auth("tenant-a")


@pytest_asyncio.fixture
async def recording(auth_settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Path]]:
    """A client of the app whose jobs record their argv in the returned file."""
    record = tmp_path / "record.json"
    s = dataclasses.replace(auth_settings, job_env={**auth_settings.job_env, "FAKE_CLAUDE_RECORD": str(record)})
    app = create_app(s)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            yield c, record


def argv_of(record: Path) -> list[str]:
    rec: dict[str, Any] = json.loads(record.read_text().splitlines()[0])
    return list(rec["argv"])


def flag(argv: list[str], name: str) -> str:
    (value,) = [a.split("=", 1)[1] for a in argv if a.startswith(f"--{name}=")]
    return value


@pytest.mark.asyncio
async def test_resume_route_continues_the_session(recording: tuple[httpx.AsyncClient, Path]) -> None:
    c, record = recording
    first = (await c.post("/api/jobs", json={"prompt": "first", "memory": "256M"}, headers=A)).json()
    first = await wait_final(c, first["id"], A)
    assert first["state"] == "succeeded" and first["session_id"]
    r = await c.post(f"/api/jobs/{first['id']}/resume", json={"prompt": "second"}, headers=A)
    assert r.status_code == 201, r.text
    second = await wait_final(c, r.json()["id"], A)
    assert second["state"] == "succeeded", second["error"]
    argv = argv_of(record)
    assert flag(argv, "resume") == first["session_id"] and "--fork-session" not in argv
    assert second["resumed_session"] == first["session_id"] == second["session_id"]
    assert second["work_dir"] == first["work_dir"] and second["config_dir"] == first["config_dir"]
    assert second["tenant"] == "tenant-a" and second["limits"]["memory"] == 256 << 20, "caps are inherited"
    # Forked, with an override.
    r = await c.post(f"/api/jobs/{second['id']}/resume", json={"prompt": "third", "fork_session": True, "effort": "low"}, headers=A)
    assert r.status_code == 201, r.text
    third = await wait_final(c, r.json()["id"], A)
    argv = argv_of(record)
    assert "--fork-session" in argv and flag(argv, "effort") == "low"
    assert third["session_id"] != first["session_id"] and third["resumed_session"] == first["session_id"]
    # Unknown and another tenant's: 404; a body naming another job to resume: 422.
    assert (await c.post("/api/jobs/no-such-job/resume", json={"prompt": "x"}, headers=A)).status_code == 404
    theirs = await c.post(f"/api/jobs/{first['id']}/resume", json={"prompt": "x"}, headers=auth("tenant-b"))
    assert theirs.status_code == 404 and theirs.json() == {"detail": f"job {first['id']} not found"}
    bad = await c.post(f"/api/jobs/{first['id']}/resume", json={"prompt": "x", "resume": "other"}, headers=A)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "resume"], bad.text


@pytest.mark.asyncio
async def test_resuming_a_running_job_is_422(recording: tuple[httpx.AsyncClient, Path]) -> None:
    c, _ = recording
    slow = (await c.post("/api/jobs", json={"prompt": "long\nfake-scenario: slow"}, headers=A)).json()
    r = await c.post(f"/api/jobs/{slow['id']}/resume", json={"prompt": "too soon"}, headers=A)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "job_id"], r.text
    assert "resume" in r.json()["detail"][0]["msg"]
    await c.delete(f"/api/jobs/{slow['id']}", headers=A)


@pytest.mark.asyncio
async def test_agent_options_reach_the_cli(recording: tuple[httpx.AsyncClient, Path]) -> None:
    c, record = recording
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    body = {
        "prompt": "options",
        "disallowed_tools": ["Bash(rm *)"],
        "permission_mode": "plan",
        "system_prompt": "--be brief",
        "append_system_prompt": "Answer in French.",
        "setting_sources": ["project"],
        "fallback_model": "claude-small",
        "effort": "max",
        "json_schema": schema,
        "max_budget_usd": 0.5,
        "allowed_tools": ["Read"],
    }
    r = await c.post("/api/jobs", json=body, headers=A)
    assert r.status_code == 201, r.text
    done = await wait_final(c, r.json()["id"], A)
    assert done["state"] == "succeeded", done["error"]
    argv = argv_of(record)
    # The request's rule, then the tools the (safe) policy forbids, which the CLI refuses too.
    assert flag(argv, "disallowedTools") == "Bash(rm *),Bash" and flag(argv, "permission-mode") == "plan"
    assert flag(argv, "system-prompt") == "--be brief" and flag(argv, "append-system-prompt") == "Answer in French."
    assert flag(argv, "setting-sources") == "project" and flag(argv, "fallback-model") == "claude-small"
    assert flag(argv, "effort") == "max" and json.loads(flag(argv, "json-schema")) == schema
    assert flag(argv, "max-budget-usd") == "0.5" and flag(argv, "allowedTools") == "Read"
    for key in ("tenant", "structured_output", "permission_denials", "resumed_session", "work_dir", "config_dir"):
        assert key in done, key
    assert done["structured_output"] is None and done["permission_denials"] == []
