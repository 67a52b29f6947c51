"""One job with the real Claude Code CLI against the loopback mock API
(testing/mock-anthropic). Skipped only when the mock binary is missing."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
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


def mock_env(mock_url: str, home: Path) -> dict[str, str]:
    """The manager's env for every job (a resumed job does not inherit a spec's env)."""
    home.mkdir(exist_ok=True)
    return {
        "ANTHROPIC_BASE_URL": mock_url,
        "ANTHROPIC_API_KEY": "test-key",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "HOME": str(home),
    }


@pytest.mark.asyncio
async def test_real_cli_structured_output(mock_url: str, data_dir: Path, tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"brand": {"type": "string"}, "founded": {"type": "integer"}},
        "required": ["brand", "founded"],
    }
    env = mock_env(mock_url, tmp_path / "home")
    async with claude_jobs.JobManager(claude_bin=real_claude(), data_dir=data_dir, kill_grace=2, env=env) as manager:
        job = await manager.submit("Profile the brand Kettle Co.", json_schema=schema, memory="2G", timeout=120)
        info = await job.wait()
    assert info.state == "succeeded", (info.error, info.result)
    out = info.structured_output
    assert isinstance(out, dict) and out["brand"] == "sample brand", out
    assert isinstance(out["founded"], int)
    assert info.to_dict()["structured_output"] == out


@pytest.mark.asyncio
async def test_real_cli_resumed_job(mock_url: str, data_dir: Path, tmp_path: Path) -> None:
    env = mock_env(mock_url, tmp_path / "home")
    async with claude_jobs.JobManager(claude_bin=real_claude(), data_dir=data_dir, kill_grace=2, env=env) as manager:
        first = await (await manager.submit("First question: name a kettle.", memory="2G", timeout=120)).wait()
        assert first.state == "succeeded", (first.error, first.result)
        job = await manager.submit("Second question: and its price?", resume=first.id, timeout=120)
        second = await job.wait()
        events = [ev async for ev in job.events()]
    assert second.state == "succeeded", (second.error, second.result)
    assert second.session_id == first.session_id == second.resumed_session
    assert second.work_dir == first.work_dir and second.config_dir == first.config_dir
    assert second.result and "Second question" in second.result
    assert second.limits.memory == 2 << 30, "caps are inherited"
    resuming = [e for e in events if e.type == "resuming"]
    assert resuming and resuming[0]["from_job"] == first.id and resuming[0]["fork"] is False


@pytest.mark.asyncio
async def test_the_readme_example_runs(mock_url: str, tmp_path: Path) -> None:
    """examples/python/agent_options.py (the README's structured-output and
    resumed jobs) with the real CLI against the mock."""
    env = {**os.environ, **mock_env(mock_url, tmp_path / "home")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "examples/python/agent_options.py"), "--claude-bin", str(real_claude()),
        "--data-dir", str(tmp_path / "data"), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 240)
    assert proc.returncode == 0, (out.decode(), err.decode()[-3000:])
    report = json.loads(out.decode().strip().splitlines()[-1])
    assert report["structured_output"]["brand"] == "sample brand"
    resumed = report["resumed"]
    assert resumed["session_id"] == resumed["resumed_session"] == report["first"]["session_id"]
    assert resumed["same_work_dir"] is True and resumed["state"] == "succeeded" and resumed["result"]
