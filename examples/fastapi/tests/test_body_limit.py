"""Request bodies over 1 MiB are 413 before anything parses them, whether the
client sends Content-Length or a chunked body; just under the cap is served."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from app_helpers import auth

TOO_LARGE = {"detail": "request body over 1 MiB", "code": "BODY_TOO_LARGE"}
MIB = 1 << 20


def big_body(size: int) -> bytes:
    """A JSON job request of exactly `size` bytes (the prompt pads it)."""
    head, tail = b'{"prompt": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


async def chunks(data: bytes, n: int = 64 * 1024) -> AsyncIterator[bytes]:
    for i in range(0, len(data), n):
        yield data[i : i + n]


@pytest.mark.asyncio
async def test_2_mib_with_content_length_is_413(server_url: str) -> None:
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as c:
        body = big_body(2 * MIB)
        r = await c.post("/api/jobs", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json() == TOO_LARGE, r.text
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as c:
        assert (await c.get("/api/jobs")).json()["jobs"] == [], "nothing was submitted"
        assert (await c.get("/health")).status_code == 200


@pytest.mark.asyncio
async def test_2_mib_chunked_is_413(server_url: str) -> None:
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as c:
        req = c.build_request("POST", "/api/jobs", content=chunks(big_body(2 * MIB)), headers={"content-type": "application/json"})
        assert "content-length" not in req.headers and req.headers["transfer-encoding"] == "chunked"
        r = await c.send(req)
        assert r.status_code == 413 and r.json() == TOO_LARGE, r.text
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as c:
        assert (await c.get("/api/jobs")).json()["jobs"] == []


@pytest.mark.asyncio
async def test_the_cap_is_exactly_1_mib(client: httpx.AsyncClient) -> None:
    """Through the ASGI transport too (chunked: no Content-Length): 1 MiB + 1 is
    refused; a body of exactly 1 MiB is served."""
    over = await client.post("/api/jobs", content=chunks(big_body(MIB + 1)), headers={"content-type": "application/json"})
    assert over.status_code == 413 and over.json() == TOO_LARGE
    at = await client.post("/api/jobs", content=big_body(MIB), headers={"content-type": "application/json"})
    assert at.status_code == 201, at.text[:300]
    small = await client.post("/api/jobs", content=json.dumps({"prompt": "small"}), headers={"content-type": "application/json"})
    assert small.status_code == 201, small.text


@pytest.mark.asyncio
async def test_an_unauthenticated_big_body_is_401_unread(auth_client: httpx.AsyncClient) -> None:
    r = await auth_client.post("/api/jobs", content=big_body(2 * MIB), headers={"content-type": "application/json"})
    assert r.status_code == 401
    r = await auth_client.post("/api/jobs", content=big_body(2 * MIB), headers={"content-type": "application/json", **auth("tenant-a")})
    assert r.status_code == 413 and r.json() == TOO_LARGE
