"""The dashboard's own endpoints (dashboard.py) on the fake CLI, through httpx:
POST /api/workflows, the job list with totals, output files (only the job's
own), and the page at / (or the message saying how to build it)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import dashboard
from settings import Settings


async def wait_final(client: httpx.AsyncClient, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body: dict[str, Any] = (await client.get(f"/api/jobs/{job_id}")).json()
        if body["state"] not in ("queued", "running"):
            return body
        assert asyncio.get_running_loop().time() < deadline, body
        await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_workflow_runs_three_chained_jobs(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/workflows",
        json={"brand": "Acme", "website": "https://acme.example", "variables": {"length": "200 words"}, "memory": "300M", "timeout": 60},
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["brand"] == "Acme" and len(out["job_ids"]) == 3
    assert list(out["jobs"]) == ["research", "brief", "draft"] and list(out["jobs"].values()) == out["job_ids"]
    done = [await wait_final(client, i) for i in out["job_ids"]]
    assert [d["state"] for d in done] == ["succeeded"] * 3, [d["error"] for d in done]
    assert [d["template"] for d in done] == ["brand-data", "brief", "draft"]
    for step, d in zip(["research", "brief", "draft"], done):
        assert d["labels"]["workflow"] == out["workflow"] and d["labels"]["step"] == step and d["labels"]["brand"] == "Acme"
        assert d["limits"]["memory"] == 300 << 20 and d["outputs"]
    listed = {j["id"]: j for j in (await client.get("/api/dashboard/jobs")).json()["jobs"]}
    research, brief, draft = (listed[i] for i in out["job_ids"])
    # Each step got only its template's variables; the chain is in `inputs`.
    assert research["variables"] == {"brand": "Acme", "website": "https://acme.example"}
    assert brief["variables"] == {"brand": "Acme"} and brief["inputs"] == {"research": research["id"]}
    assert draft["variables"] == {"brand": "Acme", "length": "200 words"} and draft["inputs"] == {"brief": brief["id"]}


@pytest.mark.parametrize(
    "body,loc",
    [
        ({"brand": "Acme", "memory": "lots"}, ["body", "memory"]),
        ({"brand": "Acme", "limits": {"memory": "lots"}}, ["body", "limits", "memory"]),
        ({"brand": "Acme", "cpus": 0}, ["body", "cpus"]),
        ({"brand": "Acme", "timeout": 0}, ["body", "timeout"]),
        ({"brand": "Acme", "variables": {"bogus": "x"}}, ["body", "variables", "bogus"]),
        ({"brand": "Acme", "variables": {"research": "x"}}, ["body", "variables", "research"]),
        ({"brand": "  "}, ["body", "brand"]),
        ({}, ["body", "brand"]),
    ],
)
@pytest.mark.asyncio
async def test_workflow_errors_name_the_field(client: httpx.AsyncClient, body: dict[str, Any], loc: list[str]) -> None:
    r = await client.post("/api/workflows", json=body)
    assert r.status_code == 422, r.text
    assert any(d["loc"] == loc for d in r.json()["detail"]), r.json()
    # All or nothing: no job is left running or queued.
    jobs = (await client.get("/api/dashboard/jobs")).json()["jobs"]
    assert [j for j in jobs if j["state"] in ("queued", "running")] == []


@pytest.mark.asyncio
async def test_workflow_caps_above_the_policy_are_403(client: httpx.AsyncClient) -> None:
    for body, field in (({"brand": "Acme", "cpus": 4096}, "cpus"), ({"brand": "Acme", "limits": {"memory": "64G"}}, "memory")):
        r = await client.post("/api/workflows", json=body)
        assert r.status_code == 403 and r.json()["field"] == field and r.json()["code"] == "POLICY_VIOLATION", r.text
    assert (await client.get("/api/dashboard/jobs")).json()["jobs"] == [], "all or nothing"


@pytest.mark.asyncio
async def test_totals_and_list(client: httpx.AsyncClient) -> None:
    empty = (await client.get("/api/dashboard/jobs")).json()
    assert empty["jobs"] == [] and empty["totals"]["running"] == 0 and empty["totals"]["cost_today_usd"] == 0
    r = await client.post("/api/jobs", json={"prompt": "Hello there\nsecond line", "memory": "256M"})
    job = await wait_final(client, r.json()["id"])
    body = (await client.get("/api/dashboard/jobs")).json()
    (row,) = body["jobs"]
    assert row["id"] == job["id"] and row["prompt_preview"] == "Hello there" and row["duration_ms"] is not None
    assert row["limits"]["memory"] == 256 << 20 and row["stats"]["peak_memory_bytes"] >= 0
    assert body["totals"]["jobs"] == 1 and body["totals"]["max_concurrent"] == 2
    assert body["totals"]["cost_today_usd"] == pytest.approx(job["cost_usd"])
    later = (await client.get("/api/dashboard/jobs", params={"since_ms": job["finished_at"] + 1})).json()
    assert later["totals"]["cost_today_usd"] == 0
    one = (await client.get(f"/api/dashboard/jobs/{job['id']}")).json()
    assert one["id"] == job["id"] and one["prompt_preview"] == "Hello there"
    assert (await client.get("/api/dashboard/jobs/nope")).status_code == 404


@pytest.mark.asyncio
async def test_output_files_only_the_jobs_own(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/jobs", json={"template": "brief", "variables": {"brand": "Acme", "research": "Anvils."}})
    job = await wait_final(client, r.json()["id"])
    (path,) = [Path(p) for p in job["outputs"]]
    got = await client.get(f"/api/jobs/{job['id']}/outputs/{path.name}")
    assert got.status_code == 200 and got.text == path.read_text()
    assert got.headers["content-type"].startswith("text/markdown") and got.headers["x-content-type-options"] == "nosniff"
    for name in ["nope.md", "%2e%2e", "..%2F..%2Fetc%2Fpasswd", "..%2Fjobs", "%2Fetc%2Fpasswd", "stdout.log"]:
        bad = await client.get(f"/api/jobs/{job['id']}/outputs/{name}")
        assert bad.status_code == 404, (name, bad.text)
        assert "root:" not in bad.text
    assert (await client.get(f"/api/jobs/nope/outputs/{path.name}")).status_code == 404


@pytest.mark.asyncio
async def test_page_or_how_to_build_it(client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboard, "DIST", tmp_path / "dist")
    for path in ("/", "/jobs/some-id"):
        r = await client.get(path)
        assert r.status_code == 503 and "make dashboard-build" in r.text and "not built" in r.text
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("<!doctype html><title>claude-jobs</title><div id=root></div>")
    for path in ("/", "/jobs/some-id"):
        r = await client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html") and 'id=root' in r.text
    # The API still wins over the page.
    assert (await client.get("/health")).json()["status"] in ("ok", "degraded")


@pytest.mark.asyncio
async def test_assets_are_404_when_missing_or_outside(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboard, "DIST", tmp_path / "dist")  # not built
    async with app_client(settings) as c:
        for path in ("/assets/index.js", "/assets/..%2fapp.py", "/assets/..%2f..%2f..%2fetc%2fpasswd", "/assets/%2e%2e/secret"):
            r = await c.get(path)
            assert r.status_code == 404, (path, r.status_code, r.text)
    (tmp_path / "dist" / "assets").mkdir(parents=True)
    (tmp_path / "dist" / "assets" / "index.js").write_text("console.log(1)")
    (tmp_path / "dist" / "secret.txt").write_text("not an asset")
    async with app_client(settings) as c:
        assert (await c.get("/assets/index.js")).text == "console.log(1)"
        for path in ("/assets/..%2fsecret.txt", "/assets/missing.js"):
            r = await c.get(path)
            assert r.status_code == 404 and "not an asset" not in r.text, (path, r.text)


@contextlib.asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    from app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c
