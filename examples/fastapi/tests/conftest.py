"""Fixtures: the app on the fake CLI, driven through httpx (ASGI or a real uvicorn)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import uvicorn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # app.py, schemas.py, settings.py

from app import create_app  # noqa: E402
from app_helpers import KEYS, MARKER, fake_claude, write_keys  # noqa: E402
from settings import Settings  # noqa: E402

@pytest.fixture
def marker() -> str:
    return f"app-test-{os.getpid()}-{id(object())}"


@pytest.fixture
def settings(tmp_path: Path, marker: str) -> Settings:
    fake = fake_claude()
    if not fake.exists():
        pytest.fail(f"{fake} is missing: run `cargo build -p fake-claude` (make test-python does)")
    return Settings(
        claude_bin=str(fake),
        data_dir=tmp_path / "data",
        max_concurrent=2,
        kill_grace=1.0,
        sse_keepalive=0.2,
        job_env={MARKER: marker},
    )


@pytest_asyncio.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the app in-process (lifespan run by hand: httpx does not)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


@pytest_asyncio.fixture
async def server_url(settings: Settings) -> AsyncIterator[str]:
    """The app under a real uvicorn on 127.0.0.1 (random port), in this event loop."""
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 60)


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    """A keys file with the tenants of app_helpers.KEYS (tenant-a, tenant-b)."""
    return write_keys(tmp_path / "api-keys", KEYS)


@pytest.fixture
def auth_settings(settings: Settings, keys_file: Path) -> Settings:
    """The test settings with API keys (the default, safe policy)."""
    return dataclasses.replace(settings, api_keys_file=keys_file)


@pytest_asyncio.fixture
async def auth_client(auth_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of the app with API keys; it sends no key by itself."""
    app = create_app(auth_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c
