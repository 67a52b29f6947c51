"""Helpers for the service's tests (typed; checked by mypy --strict)."""

from __future__ import annotations

import os
from pathlib import Path

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
