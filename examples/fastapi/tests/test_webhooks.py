"""Webhooks through the service: a policy file that allows `webhook_url`,
CLAUDE_JOBS_WEBHOOK_SECRET set; a loopback receiver gets one signed POST per
final state and the signature verifies. (The core's tests cover the failed
delivery retried across a restart.)"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import create_app
from app_helpers import auth, wait_final
from settings import Settings

SECRET = "webhook-secret-for-tests"
POLICY = "forbidden_tools: [Bash]\nmax_memory: 1G\ndefault_limits: { memory: 256M }\nallow: { webhook_url: true }\n"
A = auth("tenant-a")


class Receiver(BaseHTTPRequestHandler):
    deliveries: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).deliveries.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    class Mine(Receiver):
        deliveries: list[tuple[dict[str, str], bytes]] = []

    server = ThreadingHTTPServer(("127.0.0.1", 0), Mine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", Mine.deliveries
    finally:
        server.shutdown()


async def deliveries_for(got: list[tuple[dict[str, str], bytes]], job_id: str, timeout: float = 30) -> list[tuple[dict[str, str], bytes]]:
    """The deliveries of this job, once there is one, and 2 s later (to see a second)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not any(h.get("x-claude-jobs-job") == job_id for h, _ in got):
        assert asyncio.get_running_loop().time() < deadline, f"no delivery for {job_id}: {got}"
        await asyncio.sleep(0.1)
    await asyncio.sleep(2)
    return [(h, b) for h, b in got if h.get("x-claude-jobs-job") == job_id]


@pytest.mark.asyncio
async def test_one_signed_post_per_final_state(auth_settings: Settings, tmp_path: Path, receiver: tuple[str, list[Any]]) -> None:
    url, got = receiver
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    app = create_app(dataclasses.replace(auth_settings, policy_file=policy, webhook_secret=SECRET))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            ok = (await c.post("/api/jobs", json={"prompt": "notify me", "webhook_url": url}, headers=A)).json()
            slow = (await c.post("/api/jobs", json={"prompt": "x\nfake-scenario: slow", "webhook_url": url}, headers=A)).json()
            assert (await wait_final(c, ok["id"], A))["state"] == "succeeded"
            assert (await c.delete(f"/api/jobs/{slow['id']}", headers=A)).json()["cancelled"] is True
            assert (await wait_final(c, slow["id"], A))["state"] == "cancelled"
            for job_id, state in ((ok["id"], "succeeded"), (slow["id"], "cancelled")):
                (headers, body), *more = await deliveries_for(got, job_id)
                assert more == [], f"{len(more) + 1} deliveries for one final state"
                expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                assert hmac.compare_digest(headers["x-claude-jobs-signature"], expected)
                wrong = "sha256=" + hmac.new(b"another secret", body, hashlib.sha256).hexdigest()
                assert headers["x-claude-jobs-signature"] != wrong
                info = json.loads(body)
                assert info["id"] == job_id and info["state"] == state and info["tenant"] == "tenant-a"
                assert headers["content-type"].startswith("application/json")
