"""Helpers for the service's tests (typed; checked by mypy --strict)."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Any

import httpx

#: The repository root (examples/fastapi/tests/ → ../../..).
ROOT = Path(__file__).resolve().parents[3]
#: An environment variable every job of the test app gets, to find its processes.
MARKER = "CLAUDE_JOBS_APP_TEST_MARKER"


def fake_claude() -> Path:
    """The fake CLI (`cargo build -p fake-claude`); `$FAKE_CLAUDE_BIN` overrides."""
    env = os.environ.get("FAKE_CLAUDE_BIN")
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return Path(env) if env else target / "debug" / "fake-claude"


def pids_with_env(name: str, value: str) -> list[int]:
    """Pids of live (non-zombie) processes whose environment has `name=value`."""
    needle = f"{name}={value}".encode()
    pids: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                env = (entry / "environ").read_bytes().split(b"\0")
                state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
            except (OSError, IndexError):
                continue
            if needle in env and state != "Z":
                pids.append(int(entry.name))
    return pids


#: The test tenants and their keys (the keys file holds only their SHA-256).
KEYS = {"tenant-a": "key-of-tenant-a-0123456789", "tenant-b": "key-of-tenant-b-9876543210"}


def write_keys(path: Path, keys: dict[str, str]) -> Path:
    """A keys file: a comment, a blank line, then ``tenant:sha256hex`` lines."""
    lines = ["# tenant:sha256 of the key", ""]
    lines += [f"{t}:{hashlib.sha256(k.encode()).hexdigest()}" for t, k in keys.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def auth(tenant: str) -> dict[str, str]:
    """The Authorization header of a test tenant's key."""
    return {"Authorization": f"Bearer {KEYS[tenant]}"}


async def wait_final(client: httpx.AsyncClient, job_id: str, headers: dict[str, str], timeout: float = 30) -> dict[str, Any]:
    """Polls GET /api/jobs/{id} (with these headers) until the job's state is final."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        r = await client.get(f"/api/jobs/{job_id}", headers=headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["state"] not in ("queued", "running"):
            return body
        assert asyncio.get_running_loop().time() < deadline, body
        await asyncio.sleep(0.05)
