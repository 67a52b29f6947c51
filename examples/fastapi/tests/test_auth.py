"""API keys: 401 on every route of the app (enumerated from the app itself, so a
new route cannot escape), the open paths, /metrics, and the keys file."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from pathlib import Path
from collections.abc import Sequence
from typing import Optional

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import BaseRoute, Mount, Route

import auth
from app import create_app
from app_helpers import KEYS, auth as key_of
from settings import Settings

UNAUTHORIZED = {"detail": "missing or wrong API key", "code": "UNAUTHORIZED"}
#: What may be reached without a key: health and the dashboard's page.
OPEN = {("GET", "/health"), ("GET", "/"), ("GET", "/jobs/{job_id}")}


def every_route(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every route and mount of the app, included
    routers walked into (FastAPI wraps them; an unknown kind fails loudly)."""
    out: list[tuple[str, str]] = []

    def walk(routes: Sequence[BaseRoute]) -> None:
        for r in routes:
            if isinstance(r, Mount):
                out.append(("GET", r.path + "/{path}"))
            elif isinstance(r, Route):
                out.extend((m, r.path) for m in sorted(r.methods or []) if m != "HEAD")
            else:
                inner = getattr(r, "original_router", None) or getattr(r, "router", None)
                assert inner is not None, f"a route of an unknown kind: {r!r}"
                walk(inner.routes)

    walk(app.routes)
    return out


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "some-id", path)


def test_the_routes_are_enumerated(auth_settings: Settings) -> None:
    routes = set(every_route(create_app(auth_settings)))
    for expected in [
        ("POST", "/api/jobs"),
        ("POST", "/api/jobs/{job_id}/resume"),
        ("GET", "/api/jobs/{job_id}/events"),
        ("GET", "/api/tenant"),
        ("GET", "/api/dashboard/jobs"),
        ("GET", "/api/jobs/{job_id}/outputs/{name}"),
        ("GET", "/metrics"),
        ("GET", "/assets/{path}"),
        ("GET", "/openapi.json"),
    ]:
        assert expected in routes, expected


@pytest.mark.asyncio
async def test_every_route_needs_a_key(auth_client: httpx.AsyncClient, auth_settings: Settings) -> None:
    routes = every_route(create_app(auth_settings))
    checked = 0
    for method, path in routes:
        url = concrete(path)
        for headers in ({}, {"Authorization": "Bearer wrong-key"}, {"Authorization": f"Basic {KEYS['tenant-a']}"}):
            body: Optional[dict[str, str]] = {} if method in ("POST", "PUT", "PATCH") else None
            r = await auth_client.request(method, url, headers=headers, json=body)
            if (method, path) in OPEN or path.startswith("/assets"):
                assert r.status_code != 401, (method, url, r.status_code)
                continue
            assert r.status_code == 401, (method, url, headers, r.status_code, r.text)
            assert r.json() == UNAUTHORIZED and r.headers["www-authenticate"] == "Bearer"
            checked += 1
    assert checked >= 3 * 15, checked
    # The right key passes (an unknown job is then a 404, not a 401).
    ok = await auth_client.get("/api/jobs", headers=key_of("tenant-a"))
    assert ok.status_code == 200, ok.text
    assert (await auth_client.get("/api/jobs/some-id", headers=key_of("tenant-b"))).status_code == 404
    # Routes that do not exist are 401 too: nothing is learned without a key.
    assert (await auth_client.get("/api/no-such-route")).status_code == 401


@pytest.mark.asyncio
async def test_metrics_are_public_only_when_configured(auth_settings: Settings) -> None:
    for public, status in ((False, 401), (True, 200)):
        app = create_app(dataclasses.replace(auth_settings, metrics_public=public))
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
                r = await c.get("/metrics")
                assert r.status_code == status, (public, r.text)
                assert (await c.get("/metrics", headers=key_of("tenant-a"))).status_code == 200
                assert (await c.get("/api/jobs")).status_code == 401, "only /metrics is opened"


@pytest.mark.asyncio
async def test_without_a_keys_file_nothing_needs_a_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/jobs")).status_code == 200
    assert (await client.get("/metrics")).status_code == 200
    tenant = (await client.get("/api/tenant")).json()
    assert tenant["tenant"] is None and tenant["running"] == 0 and tenant["budget_left_usd"] is None


@pytest.mark.parametrize(
    "content,line,why",
    [
        ("tenant-a\n", 1, "no colon"),
        ("# c\n\nbad tenant!:" + "a" * 64 + "\n", 3, "tenant"),
        ("a:" + "a" * 63 + "\n", 1, "64 hex"),
        ("ok:" + "b" * 64 + "\nleaky:sk-ant-the-key-itself\n", 2, "64 hex"),
        ("x" * 65 + ":" + "c" * 64 + "\n", 1, "tenant"),
        ("a:" + "d" * 64 + "\nb:" + "D" * 64 + "\n", 2, "same key as line 1"),
    ],
)
def test_a_malformed_keys_file_names_the_line(tmp_path: Path, content: str, line: int, why: str) -> None:
    path = tmp_path / "keys"
    path.write_text(content)
    with pytest.raises(auth.KeysFileError) as err:
        auth.load_keys(path)
    assert f"{path} line {line}:" in str(err.value) and why in str(err.value)
    assert "sk-ant" not in str(err.value), "a key written in clear is never repeated"


def test_an_unreadable_keys_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(auth.KeysFileError) as err:
        auth.load_keys(tmp_path / "missing")
    assert str(tmp_path / "missing") in str(err.value) and "cannot read" in str(err.value)


def test_a_key_is_compared_with_every_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [f"t{i}:{hashlib.sha256(f'k{i}'.encode()).hexdigest()}" for i in range(5)]
    (tmp_path / "keys").write_text("\n".join(lines))
    entries = auth.load_keys(tmp_path / "keys")
    calls: list[bytes] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(a)
        same: bool = real(a, b)
        return same

    monkeypatch.setattr(hmac, "compare_digest", counting)
    assert auth.tenant_for(entries, "k0") == "t0"
    assert len(calls) == 5, "no early exit on the first match"
    assert auth.tenant_for(entries, "k4") == "t4" and auth.tenant_for(entries, "nope") is None
    assert all(len(c) == 32 for c in calls), "digests are compared, never keys"
