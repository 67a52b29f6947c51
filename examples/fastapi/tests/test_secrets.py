"""The API key never reaches a client: not in the SSE stream, the job, or the logs route,
even when the CLI writes it JSON-escaped (``\\u0073\\u006b…``) so that only a parser sees it."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from app import create_app
from settings import Settings
from test_api import sse_frames, wait_final

KEY = "sk-ant-test-7f3c9a1e5b2d4c6e8a0f"
ESCAPED = "".join(f"\\u{ord(c):04x}" for c in KEY)


@pytest.mark.asyncio
async def test_an_escaped_key_is_masked_in_the_sse_stream_and_the_job(settings: Settings) -> None:
    s = dataclasses.replace(settings, job_env={**settings.job_env, "ANTHROPIC_API_KEY": KEY})
    app = create_app(s)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            r = await client.post("/api/jobs", json={"prompt": "say it\nfake-scenario: leak-escaped"})
            assert r.status_code == 201, r.text
            job_id = r.json()["id"]
            done = await wait_final(client, job_id)
            assert done["state"] == "succeeded", done
            stream = (await client.get(f"/api/jobs/{job_id}/events")).text
            assert sse_frames(stream)[-1]["data"]["type"] == "finished"
            # The fake CLI did write the key (escaped): its text and result came through, masked.
            assert "the key is [REDACTED]" in stream and done["result"] == "the key is [REDACTED]", done
            job = (await client.get(f"/api/jobs/{job_id}")).text
            logs = (await client.get(f"/api/jobs/{job_id}/logs")).text
            for where, body in (("events", stream), ("job", job), ("logs", logs)):
                assert KEY not in body, where
                assert ESCAPED not in body and ESCAPED.replace("\\", "\\\\") not in body, where
