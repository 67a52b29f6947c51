"""One job with the real Claude Code CLI against the loopback mock API
(testing/mock-anthropic). Skipped only when the mock binary is missing."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

import claude_jobs
from jobs_helpers import ROOT, cargo_target_dir

MOCK = cargo_target_dir() / "debug" / "mock-anthropic"
INSTALLER = ROOT / "scripts" / "install-claude.sh"


def real_claude() -> Path:
    """The pinned real CLI: `$REAL_CLAUDE_BIN` (make test-python sets it), else
    what scripts/install-claude.sh prints (it is idempotent)."""
    env = os.environ.get("REAL_CLAUDE_BIN")
    if env:
        return Path(env)
    out = subprocess.run(["bash", str(INSTALLER)], check=True, capture_output=True, text=True, timeout=900)
    return Path(out.stdout.strip().splitlines()[-1])


@pytest_asyncio.fixture
async def mock_url() -> AsyncIterator[str]:
    if not MOCK.exists():
        pytest.skip(f"{MOCK} is missing (cargo build -p mock-anthropic)")
    proc = await asyncio.create_subprocess_exec(
        str(MOCK), "--port", "0", "--scenario", "text", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        m = re.search(r"listening on (http://\S+)", line)
        assert m, line
        yield m.group(1)
    finally:
        proc.terminate()
        await proc.wait()


@pytest.mark.asyncio
async def test_real_cli_against_the_mock(mock_url: str, data_dir: Path) -> None:
    claude = real_claude()
    async with claude_jobs.JobManager(claude_bin=claude, data_dir=data_dir, kill_grace=2) as manager:
        job = await manager.submit(
            prompt="Write a one-line greeting.\nmock-scenario: text",
            env={"ANTHROPIC_BASE_URL": mock_url, "ANTHROPIC_API_KEY": "test-key"},
            memory="2G",
            timeout=120,
        )
        types = [ev.type async for ev in job.events()]
        info = await job.wait()
    assert info.state == "succeeded", (info.error, info.result)
    assert info.session_id and info.cost_usd is not None and info.cost_usd > 0
    assert info.cli_version and info.result and "mock-anthropic" in info.result
    assert "init" in types and "result" in types
