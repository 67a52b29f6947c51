"""Fixtures for the binding's tests: the fake CLI and a manager per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

import claude_jobs
from jobs_helpers import fake_claude, make_manager


@pytest.fixture(scope="session")
def fake_bin() -> Path:
    path = fake_claude()
    if not path.exists():
        pytest.fail(f"{path} is missing: run `cargo build -p fake-claude` (make test-python does)")
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest_asyncio.fixture
async def manager(fake_bin: Path, data_dir: Path) -> AsyncIterator[claude_jobs.JobManager]:
    m = make_manager(fake_bin, data_dir)
    try:
        yield m
    finally:
        await m.shutdown(drain_timeout=5)
