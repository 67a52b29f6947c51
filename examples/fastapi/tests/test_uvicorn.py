"""The app under a real uvicorn: live server-sent events, cancel while
streaming, resume with Last-Event-ID; no job process left behind."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app_helpers import MARKER, pids_with_env


@pytest.mark.asyncio
async def test_live_sse_then_cancel_then_resume(server_url: str, marker: str) -> None:
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as client:
        r = await client.post("/api/jobs", json={"prompt": "tick\nfake-scenario: slow"})
        assert r.status_code == 201, r.text
        job_id = r.json()["id"]
        seen: list[dict[str, Any]] = []
        last_id = 0
        keepalives = 0
        async with client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            async for line in stream.aiter_lines():
                if line.startswith(":"):
                    keepalives += 1  # the slow job is quiet for 0.5 s between ticks
                elif line.startswith("id: "):
                    last_id = int(line[4:])
                elif line.startswith("data: "):
                    ev = json.loads(line[6:])
                    assert ev["seq"] == last_id
                    seen.append(ev)
                    if ev["type"] == "assistant_text" and len([e for e in seen if e["type"] == "assistant_text"]) == 2:
                        # Live: the job is still running while we read its ticks.
                        state = (await client.get(f"/api/jobs/{job_id}")).json()["state"]
                        assert state == "running"
                        assert pids_with_env(MARKER, marker), "the job's CLI should be running"
                        cancel = await client.delete(f"/api/jobs/{job_id}")
                        assert cancel.json()["cancelled"] is True
        assert seen[-1]["type"] == "finished" and seen[-1]["state"] == "cancelled"
        assert keepalives >= 1
        health = (await client.get("/health")).json()
        if health["isolation"] != "none":  # the whole cgroup was killed
            assert pids_with_env(MARKER, marker) == []
        # A reconnecting EventSource sends Last-Event-ID: only what came after.
        r = await client.get(f"/api/jobs/{job_id}/events", headers={"Last-Event-ID": str(seen[2]["seq"])})
        replay = [json.loads(ln[6:]) for ln in r.text.splitlines() if ln.startswith("data: ")]
        assert replay == seen[3:]
        assert (await client.get("/health")).json()["running"] == 0
