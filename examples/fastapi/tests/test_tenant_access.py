"""Tenants over HTTP: the key's tenant is on every job; another tenant's job is
answered exactly as an unknown one on every route; GET /api/tenant; a
`tenant` in the body is refused; Idempotency-Key."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app_helpers import auth, wait_final

A, B = auth("tenant-a"), auth("tenant-b")


def same_as_unknown(r: httpx.Response, unknown: httpx.Response, job_id: str) -> None:
    """A 404 whose body is the unknown id's, with the id in its place."""
    assert r.status_code == 404 == unknown.status_code, r.text
    assert r.json() == json.loads(unknown.text.replace("no-such-job", job_id)), (r.text, unknown.text)


@pytest.mark.asyncio
async def test_a_tenant_sees_only_its_own_jobs(auth_client: httpx.AsyncClient) -> None:
    r = await auth_client.post("/api/jobs", json={"prompt": "a's job", "labels": {"k": "v"}}, headers=A)
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["tenant"] == "tenant-a"
    done = await wait_final(auth_client, job["id"], A)
    assert done["state"] == "succeeded" and done["tenant"] == "tenant-a"
    b_job = (await auth_client.post("/api/jobs", json={"prompt": "b's job"}, headers=B)).json()
    await wait_final(auth_client, b_job["id"], B)

    jid = job["id"]
    for method, path, body in [
        ("GET", "/api/jobs/{}", None),
        ("GET", "/api/jobs/{}/logs", None),
        ("GET", "/api/jobs/{}/events", None),
        ("DELETE", "/api/jobs/{}", None),
        ("POST", "/api/jobs/{}/resume", {"prompt": "go on"}),
        ("GET", "/api/dashboard/jobs/{}", None),
        ("GET", "/api/jobs/{}/outputs", None),
        ("GET", "/api/jobs/{}/outputs/stdout.log", None),
    ]:
        theirs = await auth_client.request(method, path.format(jid), headers=B, json=body)
        unknown = await auth_client.request(method, path.format("no-such-job"), headers=B, json=body)
        same_as_unknown(theirs, unknown, jid)
    listed_b = (await auth_client.get("/api/jobs", headers=B)).json()
    assert [j["id"] for j in listed_b["jobs"]] == [b_job["id"]]
    listed_a = (await auth_client.get("/api/jobs", params={"label": "k=v"}, headers=A)).json()
    assert [j["id"] for j in listed_a["jobs"]] == [jid]
    dash_b = (await auth_client.get("/api/dashboard/jobs", headers=B)).json()
    assert [j["id"] for j in dash_b["jobs"]] == [b_job["id"]] and dash_b["totals"]["jobs"] == 1
    # Its own job: readable, its events stream, cancel answers (already finished).
    assert (await auth_client.get(f"/api/jobs/{jid}/logs", headers=A)).status_code == 200
    events = await auth_client.get(f"/api/jobs/{jid}/events", headers=A)
    assert events.status_code == 200 and '"type":"finished"' in events.text
    cancel = await auth_client.delete(f"/api/jobs/{jid}", headers=A)
    assert cancel.json() == {"id": jid, "cancelled": False, "state": "succeeded"}


@pytest.mark.asyncio
async def test_a_tenant_cannot_cancel_or_follow_a_running_job_of_another(auth_client: httpx.AsyncClient) -> None:
    job = (await auth_client.post("/api/jobs", json={"prompt": "long\nfake-scenario: slow"}, headers=A)).json()
    for method in ("DELETE", "GET"):
        path = f"/api/jobs/{job['id']}" + ("/events" if method == "GET" else "")
        r = await auth_client.request(method, path, headers=B)
        assert r.status_code == 404, r.text
    assert (await auth_client.get(f"/api/jobs/{job['id']}", headers=A)).json()["state"] in ("queued", "running")
    assert (await auth_client.delete(f"/api/jobs/{job['id']}", headers=A)).json()["cancelled"] is True


@pytest.mark.asyncio
async def test_the_body_cannot_choose_a_tenant(auth_client: httpx.AsyncClient) -> None:
    r = await auth_client.post("/api/jobs", json={"prompt": "x", "tenant": "tenant-b"}, headers=A)
    assert r.status_code == 422, r.text
    assert any(d["loc"] == ["body", "tenant"] for d in r.json()["detail"]), r.json()
    r = await auth_client.post("/api/jobs", json={"prompt": "x", "max_turn": 3}, headers=A)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "max_turn"], r.text
    assert (await auth_client.get("/api/jobs", headers=B)).json()["jobs"] == []


@pytest.mark.asyncio
async def test_get_tenant_shows_quota_and_spend(auth_client: httpx.AsyncClient) -> None:
    empty = (await auth_client.get("/api/tenant", headers=B)).json()
    assert empty == {
        "tenant": "tenant-b",
        "quota": {"max_running": None, "max_queued": None, "daily_budget_usd": None},
        "running": 0,
        "queued": 0,
        "spent_today_usd": 0.0,
        "reserved_usd": 0.0,
        "budget_left_usd": None,
    }
    job = (await auth_client.post("/api/jobs", json={"prompt": "spend"}, headers=A)).json()
    done = await wait_final(auth_client, job["id"], A)
    mine: dict[str, Any] = (await auth_client.get("/api/tenant", headers=A)).json()
    assert mine["tenant"] == "tenant-a" and mine["spent_today_usd"] == pytest.approx(done["cost_usd"])
    assert (await auth_client.get("/api/tenant", headers=B)).json()["spent_today_usd"] == 0.0


@pytest.mark.asyncio
async def test_the_same_idempotency_key_gives_one_job(auth_client: httpx.AsyncClient) -> None:
    key = {"Idempotency-Key": "order-42"}
    first = await auth_client.post("/api/jobs", json={"prompt": "once"}, headers={**A, **key})
    again = await auth_client.post("/api/jobs", json={"prompt": "once"}, headers={**A, **key})
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert first.json()["id"] == again.json()["id"]
    other = await auth_client.post("/api/jobs", json={"prompt": "once"}, headers={**B, **key})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"], "keys are per tenant"
    listed = (await auth_client.get("/api/jobs", headers=A)).json()["jobs"]
    assert [j["id"] for j in listed] == [first.json()["id"]]
