"""Helpers shared by the binding's tests (typed; checked by mypy --strict)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any, Callable, Optional

import claude_jobs

#: The repository root (bindings-python/tests/ → ../..).
ROOT = Path(__file__).resolve().parents[2]


def cargo_target_dir() -> Path:
    """`$CARGO_TARGET_DIR`, else the workspace's `target/`."""
    env = os.environ.get("CARGO_TARGET_DIR")
    return Path(env) if env else ROOT / "target"


def fake_claude() -> Path:
    """The fake CLI (`cargo build -p fake-claude`); `$FAKE_CLAUDE_BIN` overrides."""
    env = os.environ.get("FAKE_CLAUDE_BIN")
    return Path(env) if env else cargo_target_dir() / "debug" / "fake-claude"


def cgroups_required() -> bool:
    """True when the Makefile says cgroups must work here (root on Linux)."""
    return os.environ.get("CLAUDE_JOBS_REQUIRE_CGROUPS") == "1"


def fake_env(scenario: str, **extra: str) -> dict[str, str]:
    """The job `env=` that picks a fake-claude scenario (plus FAKE_CLAUDE_* knobs)."""
    env = {"FAKE_CLAUDE_SCENARIO": scenario}
    env.update(extra)
    return env


def pids_with_env(name: str, value: str) -> list[int]:
    """Pids of live processes whose environment has `name=value` (scans /proc)."""
    needle = f"{name}={value}".encode()
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 3 of /proc/<pid>/stat is the state; Z (zombie) is not alive.
        state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
        if state != "Z" and needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


async def wait_until(pred: Callable[[], bool], timeout: float = 10.0, every: float = 0.05) -> bool:
    """Polls `pred` without blocking the loop; True once it holds, False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        await asyncio.sleep(every)
    return pred()


def read_text(path: Optional[Path]) -> str:
    """The file's text, or '' when there is none."""
    if path is None or not path.exists():
        return ""
    return path.read_text(errors="replace")


def make_manager(fake_bin: Path, data_dir: Path, **options: Any) -> claude_jobs.JobManager:
    """A manager on the fake CLI with short grace periods (tests stop jobs often)."""
    kwargs: dict[str, Any] = {
        "claude_bin": fake_bin,
        "data_dir": data_dir,
        "max_concurrent": 3,
        "kill_grace": 1.0,
        "result_grace": 1.0,
    }
    kwargs.update(options)
    return claude_jobs.JobManager(**kwargs)
