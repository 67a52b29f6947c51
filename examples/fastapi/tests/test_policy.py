"""The server's policy over HTTP: the default (safe) policy's 403s naming the
field, a policy file, the agent options' bad values (422), and issue 19's
values that used to wedge a slot (refused, the service still serving)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import create_app
from app_helpers import auth, wait_final
from settings import Settings

A = auth("tenant-a")


def field_of(r: httpx.Response) -> str:
    """The field a 403 (policy) or a 422 (invalid) names."""
    body: dict[str, Any] = r.json()
    if r.status_code == 403:
        assert body["code"] == "POLICY_VIOLATION", body
        return str(body["field"])
    assert r.status_code == 422, r.text
    return str(body["detail"][0]["loc"][-1])


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "extra,field",
    [
        ({"allowed_tools": ["Bash"]}, "allowed_tools"),
        ({"allowed_tools": ["Read", "Bash(ls *)"]}, "allowed_tools"),
        ({"memory": "64G"}, "memory"),
        ({"cpus": 3}, "cpus"),
        ({"timeout": 7200}, "timeout"),
        ({"webhook_url": "http://127.0.0.1:9/hook"}, "webhook_url"),
        ({"mcp_servers": {"sh": {"command": "/bin/sh", "args": ["-c", "id"]}}}, "mcp_servers"),
        ({"add_dirs": ["/"]}, "add_dirs"),
        ({"settings": {"hooks": {}}}, "settings"),
    ],
)
async def test_the_safe_policy_refuses_with_403(auth_client: httpx.AsyncClient, extra: dict[str, Any], field: str) -> None:
    r = await auth_client.post("/api/jobs", json={"prompt": "x", **extra}, headers=A)
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["code"] == "POLICY_VIOLATION" and body["field"] == field and field in body["detail"], body
    assert (await auth_client.get("/api/jobs", headers=A)).json()["jobs"] == []


@pytest.mark.asyncio
@pytest.mark.parametrize("extra,field", [({"pids": 5_000_000}, "pids"), ({"timeout": 1e19}, "timeout"), ({"idle_timeout": 1e19}, "idle_timeout")])
async def test_huge_values_are_refused_and_the_service_serves(
    auth_client: httpx.AsyncClient, extra: dict[str, Any], field: str
) -> None:
    r = await auth_client.post("/api/jobs", json={"prompt": "x", **extra}, headers=A)
    assert r.status_code in (403, 422), r.text
    assert field_of(r) == field
    ok = await auth_client.post("/api/jobs", json={"prompt": "fine"}, headers=A)
    assert ok.status_code == 201, ok.text
    assert (await wait_final(auth_client, ok.json()["id"], A))["state"] == "succeeded"
    # The job is final in the store a moment before its slot is free: wait for that.
    for _ in range(100):
        health = (await auth_client.get("/health")).json()
        if health["running"] == 0:
            break
        await asyncio.sleep(0.05)
    assert health["running"] == 0 and health["queued"] == 0


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "extra,loc",
    [
        ({"permission_mode": "yolo"}, ["body", "permission_mode"]),
        ({"json_schema": "an object please"}, ["body", "json_schema"]),
        ({"json_schema": ["type"]}, ["body", "json_schema"]),
        ({"effort": "extreme"}, ["body", "effort"]),
        ({"resume": "no-such-job"}, ["body", "resume"]),
        ({"fork_session": True}, ["body", "fork_session"]),
    ],
)
async def test_bad_agent_options_are_422_naming_the_field(auth_client: httpx.AsyncClient, extra: dict[str, Any], loc: list[str]) -> None:
    r = await auth_client.post("/api/jobs", json={"prompt": "x", **extra}, headers=A)
    assert r.status_code == 422, r.text
    assert any(d["loc"] == loc for d in r.json()["detail"]), r.json()


@pytest.mark.asyncio
async def test_a_policy_file(auth_settings: Settings, tmp_path: Path) -> None:
    """No cap on cpus here: the core's check against the host answers (422)."""
    policy = tmp_path / "policy.yaml"
    policy.write_text("forbidden_tools: [Bash]\nmax_memory: 512M\ntenants:\n  tenant-a: { max_memory: 1G }\n")
    app = create_app(dataclasses.replace(auth_settings, policy_file=policy))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            r = await c.post("/api/jobs", json={"prompt": "x", "cpus": 4096, "memory": "256M"}, headers=A)
            assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "cpus"], r.text
            r = await c.post("/api/jobs", json={"prompt": "x", "memory": "768M"}, headers=auth("tenant-b"))
            assert r.status_code == 403 and r.json()["field"] == "memory", r.text
            r = await c.post("/api/jobs", json={"prompt": "x", "memory": "768M", "allowed_tools": ["Grep"]}, headers=A)
            assert r.status_code == 201, "tenant-a's override allows 1G"
            job = await wait_final(c, r.json()["id"], A)
            assert job["limits"]["memory"] == 768 << 20 and job["state"] == "succeeded"
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_memory: [1]\n")
    app = create_app(dataclasses.replace(auth_settings, policy_file=bad))
    with pytest.raises(Exception) as err:
        async with app.router.lifespan_context(app):
            pass
    assert "policy" in str(err.value)
