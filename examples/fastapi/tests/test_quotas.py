"""Quotas over HTTP: 500 parallel submits of two tenants whose policy allows 50
queued jobs each, with the one slot held: each answer is 201 or 429 (with
Retry-After), and the paged list counts exactly the 201s, none twice."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from app import create_app
from app_helpers import auth
from settings import Settings

POLICY = """
forbidden_tools: [Bash]
max_memory: 1G
default_limits: { cpus: 0.5, memory: 128M, pids: 64, timeout: 5m }
tenants:
  tenant-a: { max_queued: 50 }
  tenant-b: { max_queued: 50 }
"""
MAX_QUEUED = 50
PER_TENANT = 250


@pytest_asyncio.fixture
async def one_slot(auth_settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    app = create_app(dataclasses.replace(auth_settings, policy_file=policy, max_concurrent=1))
    async with app.router.lifespan_context(app):
        limits = httpx.Limits(max_connections=None)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", limits=limits, timeout=60) as c:
            yield c


async def listed(client: httpx.AsyncClient, tenant: str) -> list[str]:
    """Every job id of the tenant, through the paged list (pages of 7)."""
    ids: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/jobs", params=params, headers=auth(tenant))).json()
        ids += [j["id"] for j in page["jobs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


@pytest.mark.asyncio
async def test_500_parallel_submits_are_accepted_or_429_none_lost_or_doubled(one_slot: httpx.AsyncClient) -> None:
    c = one_slot
    blocker = (await c.post("/api/jobs", json={"prompt": "hold the slot\nfake-scenario: slow"}, headers=auth("tenant-a"))).json()
    for _ in range(200):
        if (await c.get(f"/api/jobs/{blocker['id']}", headers=auth("tenant-a"))).json()["state"] == "running":
            break
        await asyncio.sleep(0.05)

    async def submit(i: int) -> tuple[str, httpx.Response]:
        tenant = "tenant-a" if i % 2 else "tenant-b"
        return tenant, await c.post("/api/jobs", json={"prompt": f"job {i}"}, headers=auth(tenant))

    answers = await asyncio.gather(*(submit(i) for i in range(2 * PER_TENANT)))
    accepted: dict[str, list[str]] = {"tenant-a": [], "tenant-b": []}
    refused = {"tenant-a": 0, "tenant-b": 0}
    for tenant, r in answers:
        assert r.status_code in (201, 429), (r.status_code, r.text)
        if r.status_code == 201:
            assert r.json()["tenant"] == tenant and r.json()["state"] == "queued"
            accepted[tenant].append(r.json()["id"])
        else:
            body = r.json()
            assert body["code"] == "QUOTA_EXCEEDED" and body["tenant"] == tenant and "max_queued" in body["detail"], body
            assert int(r.headers["retry-after"]) >= 1
            refused[tenant] += 1
    for tenant, ids in accepted.items():
        assert len(ids) == MAX_QUEUED and refused[tenant] == PER_TENANT - MAX_QUEUED, (tenant, len(ids))
        assert len(set(ids)) == len(ids), "an id answered twice"
        in_list = await listed(c, tenant)
        assert len(in_list) == len(set(in_list)), "a job listed twice"
        own = {blocker["id"]} if tenant == "tenant-a" else set()
        assert set(in_list) == set(ids) | own, (tenant, len(in_list), len(ids))
        usage = (await c.get("/api/tenant", headers=auth(tenant))).json()
        assert usage["queued"] == MAX_QUEUED and usage["quota"]["max_queued"] == MAX_QUEUED
    assert (await c.delete(f"/api/jobs/{blocker['id']}", headers=auth("tenant-a"))).json()["cancelled"] is True
    # The queue drains: a slot frees and tenant-b may submit again.
    for _ in range(400):
        if (await c.get("/api/tenant", headers=auth("tenant-b"))).json()["queued"] < MAX_QUEUED:
            break
        await asyncio.sleep(0.05)
    again = await c.post("/api/jobs", json={"prompt": "room again"}, headers=auth("tenant-b"))
    assert again.status_code == 201, again.text
