"""The HTTP API on the fake CLI through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import create_app
from settings import Settings


async def wait_final(client: httpx.AsyncClient, job_id: str, timeout: float = 30) -> dict[str, Any]:
    """Polls GET /api/jobs/{id} until the job's state is final."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        r = await client.get(f"/api/jobs/{job_id}")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["state"] not in ("queued", "running"):
            return body
        assert asyncio.get_running_loop().time() < deadline, body
        await asyncio.sleep(0.05)


def sse_frames(text: str) -> list[dict[str, Any]]:
    """Parses an SSE body into {"id": int, "data": dict} frames (comments skipped)."""
    frames = []
    for block in text.strip().split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln and not ln.startswith(":")]
        if not lines:
            continue
        fields = dict(ln.split(": ", 1) for ln in lines)
        frames.append({"id": int(fields["id"]), "data": json.loads(fields["data"])})
    return frames


@pytest.mark.asyncio
async def test_health_and_docs(client: httpx.AsyncClient) -> None:
    r = await client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["max_concurrent"] == 2 and body["running"] == 0
    assert body["isolation"] in ("cgroup-v1", "cgroup-v2", "none")
    assert body["store"].startswith("sqlite:") and body["store_healthy"] is True
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = (await client.get("/openapi.json")).json()
    for path in ("/api/jobs", "/api/jobs/{job_id}", "/api/jobs/{job_id}/logs", "/api/jobs/{job_id}/events", "/health"):
        assert path in spec["paths"], path
    assert "JobRequest" in spec["components"]["schemas"]


@pytest.mark.asyncio
async def test_submit_get_list_logs(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/jobs",
        json={"prompt": "Hello service", "cpus": 0.5, "memory": "256M", "pids": 128, "timeout": 60, "labels": {"k": "v"}},
    )
    assert r.status_code == 201, r.text
    job = r.json()
    # The fake CLI answers in milliseconds: the job may already be done when the reply is built.
    assert job["state"] in ("queued", "running", "succeeded") and job["labels"] == {"k": "v"}
    done = await wait_final(client, job["id"])
    assert done["state"] == "succeeded" and done["result"] == "echo: Hello service"
    assert done["limits"] == {"cpus": 0.5, "memory": 256 << 20, "pids": 128}
    assert done["usage"]["input_tokens"] > 0 and done["session_id"] and done["cost_usd"] > 0
    assert "peak_memory_bytes" in done["stats"]
    listed = (await client.get("/api/jobs")).json()
    assert [j["id"] for j in listed["jobs"]] == [job["id"]] and listed["next_cursor"] is None
    assert (await client.get("/api/jobs", params={"state": "failed"})).json() == {"jobs": [], "next_cursor": None}
    logs = await client.get(f"/api/jobs/{job['id']}/logs")
    assert logs.status_code == 200 and logs.headers["content-type"].startswith("text/plain")
    assert "===== stdout.log =====" in logs.text and "echo: Hello service" in logs.text
    assert "===== stderr.log =====" in logs.text
    short = await client.get(f"/api/jobs/{job['id']}/logs", params={"tail_bytes": 10})
    assert len(short.text) < len(logs.text)


@pytest.mark.asyncio
async def test_list_pages_and_filters(client: httpx.AsyncClient) -> None:
    ids = []
    for body in (
        {"prompt": "one", "labels": {"team": "a"}},
        {"prompt": "two\nfake-scenario: no-result", "labels": {"team": "b"}},
        {"template": "brief", "variables": {"brand": "ACME", "research": "R"}, "labels": {"team": "a"}},
    ):
        r = await client.post("/api/jobs", json=body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
        await wait_final(client, ids[-1])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/jobs", params=params)).json()
        assert len(page["jobs"]) <= 2
        seen += [j["id"] for j in page["jobs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]  # newest first, each once

    def listed(**params: Any) -> Any:
        return client.get("/api/jobs", params=params)

    assert [j["id"] for j in (await listed(state="failed")).json()["jobs"]] == [ids[1]]
    assert [j["id"] for j in (await listed(template="brief")).json()["jobs"]] == [ids[2]]
    assert [j["id"] for j in (await listed(label="team=a")).json()["jobs"]] == [ids[2], ids[0]]
    bad: list[tuple[dict[str, Any], str]] = [
        ({"limit": 0}, "limit"),
        ({"state": "bogus"}, "state"),
        ({"label": "x"}, "label"),
        ({"cursor": "!"}, "cursor"),
    ]
    for query, field in bad:
        r = await listed(**query)
        assert r.status_code == 422, (query, r.text)
        assert r.json()["detail"][0]["loc"] == ["query", field], r.json()


@pytest.mark.asyncio
async def test_logs_are_read_without_following_links(client: httpx.AsyncClient, tmp_path: Path) -> None:
    job_id = (await client.post("/api/jobs", json={"prompt": "hi"})).json()["id"]
    done = await wait_final(client, job_id)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    stdout = Path(done["log_dir"]) / "stdout.log"
    assert "echo: hi" in stdout.read_text()
    stdout.unlink()
    stdout.symlink_to(secret)
    logs = await client.get(f"/api/jobs/{job_id}/logs")
    assert logs.status_code == 200 and "TOP-SECRET-CONTENT" not in logs.text
    assert "===== stdout.log =====" in logs.text and "===== stderr.log =====" in logs.text


@pytest.mark.asyncio
async def test_template_job(client: httpx.AsyncClient) -> None:
    templates = (await client.get("/api/templates")).json()
    assert {"brand-data", "brief", "draft"} <= {t["name"] for t in templates}
    r = await client.post("/api/jobs", json={"template": "brief", "variables": {"brand": "ACME", "research": "Anvils."}})
    assert r.status_code == 201, r.text
    done = await wait_final(client, r.json()["id"])
    assert done["state"] == "succeeded" and done["template"] == "brief" and done["outputs"]


@pytest.mark.parametrize(
    "body,loc",
    [
        ({"prompt": "x", "cpus": "abc"}, ["body", "cpus"]),  # FastAPI's own validation
        ({"prompt": "x", "memory": "lots"}, ["body", "memory"]),  # the binding's
        ({"prompt": "x", "cpus": 0}, ["body", "cpus"]),  # the core's (4096 against the host: test_policy.py)
        ({"prompt": "x", "timeout": 0}, ["body", "timeout"]),
        ({"prompt": "x", "allowed_tools": [""]}, ["body", "allowed_tools"]),
        ({}, ["body", "prompt"]),
        ({"template": "no-such-template"}, ["body", "template"]),
        ({"template": "brief", "variables": {"brand": "ACME"}}, ["body", "variables", "research"]),
        ({"prompt": "x", "depends_on": ["no-such-job"]}, ["body", "depends_on"]),
    ],
)
@pytest.mark.asyncio
async def test_invalid_requests_name_the_field(client: httpx.AsyncClient, body: dict[str, Any], loc: list[str]) -> None:
    r = await client.post("/api/jobs", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert any(d["loc"] == loc for d in detail), detail


@pytest.mark.asyncio
async def test_unknown_ids_are_404(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/api/jobs/nope"),
        ("GET", "/api/jobs/nope/logs"),
        ("GET", "/api/jobs/nope/events"),
        ("DELETE", "/api/jobs/nope"),
    ]:
        r = await client.request(method, path)
        assert r.status_code == 404, (method, path, r.text)
        assert "nope" in r.json()["detail"]


@pytest.mark.asyncio
async def test_events_replay_and_resume(client: httpx.AsyncClient) -> None:
    job_id = (await client.post("/api/jobs", json={"prompt": "hi"})).json()["id"]
    await wait_final(client, job_id)
    r = await client.get(f"/api/jobs/{job_id}/events")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    frames = sse_frames(r.text)
    assert [f["id"] for f in frames] == list(range(1, len(frames) + 1))
    assert [f["data"]["seq"] for f in frames] == [f["id"] for f in frames]
    assert frames[0]["data"]["type"] == "queued" and frames[-1]["data"] == {
        **frames[-1]["data"],
        "type": "finished",
        "state": "succeeded",
    }
    after = sse_frames((await client.get(f"/api/jobs/{job_id}/events", params={"after": 3})).text)
    assert after == frames[3:]
    resumed = sse_frames((await client.get(f"/api/jobs/{job_id}/events", headers={"Last-Event-ID": "4"})).text)
    assert resumed == frames[4:]


@pytest.mark.asyncio
async def test_cancel(client: httpx.AsyncClient) -> None:
    job_id = (await client.post("/api/jobs", json={"prompt": "wait\nfake-scenario: slow"})).json()["id"]
    for _ in range(200):
        if (await client.get(f"/api/jobs/{job_id}")).json()["state"] == "running":
            break
        await asyncio.sleep(0.05)
    r = await client.delete(f"/api/jobs/{job_id}")
    assert r.status_code == 200 and r.json()["cancelled"] is True
    done = await wait_final(client, job_id)
    assert done["state"] == "cancelled"
    again = await client.delete(f"/api/jobs/{job_id}")
    assert again.status_code == 200 and again.json() == {"id": job_id, "cancelled": False, "state": "cancelled"}


@pytest.mark.asyncio
async def test_metrics_are_scraped(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/jobs", json={"template": "brief", "variables": {"brand": "ACME", "research": "R"}})
    assert r.status_code == 201, r.text
    assert (await wait_final(client, r.json()["id"]))["state"] == "succeeded"
    m = await client.get("/metrics")
    assert m.status_code == 200
    assert m.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = m.text.splitlines()
    assert 'claude_jobs_jobs{state="succeeded"} 1' in lines, m.text
    assert "claude_jobs_queue_length 0" in lines
    assert any(line.startswith('claude_jobs_cost_usd_total{template="brief"}') for line in lines), m.text
    assert "# TYPE claude_jobs_job_duration_seconds histogram" in lines


@pytest.mark.asyncio
async def test_a_cap_beyond_the_memory_budget_is_422(settings: Settings) -> None:
    app = create_app(dataclasses.replace(settings, memory_budget="300M"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            r = await c.post("/api/jobs", json={"prompt": "x", "memory": "512M"})
            assert r.status_code == 422, r.text
            (detail,) = r.json()["detail"]
            assert detail["loc"] == ["body", "memory"] and detail["type"] == "capacity_exceeded"
            assert "memory budget" in detail["msg"]
            ok = await c.post("/api/jobs", json={"prompt": "x", "memory": "256M"})
            assert ok.status_code == 201 and (await wait_final(c, ok.json()["id"]))["state"] == "succeeded"
