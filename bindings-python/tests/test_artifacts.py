"""Logs and outputs served by another machine (``artifact_store="db"``): two
managers, two data dirs, one SQLite store. B follows the log of a job A runs
while it runs, then reads it byte for byte; B lists A's output (size, SHA-256)
and reads its bytes. Bad streams and artifact stores name the field."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path
from typing import Optional

import pytest

import claude_jobs
from claude_jobs import InvalidSpecError, JobNotFoundError
from jobs_helpers import fake_env, make_manager, wait_until


def machine(fake_bin: Path, tmp_path: Path, name: str, store: str) -> claude_jobs.JobManager:
    """A manager on its own data dir, on the shared store, artifacts in the store."""
    d = tmp_path / name
    d.mkdir()
    return make_manager(fake_bin, d, store_url=store, artifact_store="db")


@pytest.mark.asyncio
async def test_the_other_machine_serves_logs_and_outputs(fake_bin: Path, tmp_path: Path) -> None:
    store = f"sqlite://{tmp_path / 'shared.db'}"
    a = machine(fake_bin, tmp_path, "a", store)
    b: Optional[claude_jobs.JobManager] = None
    try:
        # 12 s of progress lines every 50 ms; the log is uploaded every 2 s while it runs.
        job = await a.submit("wait", env=fake_env("slow", FAKE_CLAUDE_SECONDS="12", FAKE_CLAUDE_INTERVAL_MS="50"))
        assert await wait_until(lambda: job.state == "running", timeout=10), job.state
        b = machine(fake_bin, tmp_path, "b", store)
        live: list[int] = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (len(live) >= 2 and live[-1] > live[0]):
            seen = await b.read_log(job.id, "stdout")
            if (await b.get(job.id)).info().state == "running" and seen:
                live.append(len(seen))
            await asyncio.sleep(0.3)
        assert len(live) >= 2 and live[-1] > live[0], f"B follows A's log while it runs: sizes {live}"

        info = await job.wait()
        assert info.state == "succeeded", info
        assert info.log_dir is not None and info.log_dir.is_relative_to((tmp_path / "a").resolve()), info.log_dir
        local = (info.log_dir / "stdout.log").read_bytes()
        assert len(local) > 10_000, len(local)
        assert await b.read_log(job.id, "stdout") == local
        assert await b.read_log(job.id, "stdout", tail_bytes=100) == local[-100:]
        assert await b.read_log(job.id, "stderr") == (info.log_dir / "stderr.log").read_bytes()
        with pytest.raises(InvalidSpecError) as err:
            await b.read_log(job.id, "both")  # type: ignore[arg-type]
        assert err.value.field == "stream", err.value
        with pytest.raises(JobNotFoundError):
            await b.read_log("no-such-job", "stdout")

        # An output collected by A: listed by B with its size and checksum, its bytes served.
        made = await a.submit("Write the brief.", output={"file": "brief.md", "folder": "brand"})
        done = await made.wait()
        assert done.state == "succeeded" and len(done.outputs) == 1, done
        data = done.outputs[0].read_bytes()
        assert data, done.outputs[0]
        name = done.outputs[0].name
        listed = await b.outputs(made.id)
        assert listed == [{"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}], listed
        assert await b.read_output(made.id, name) == data
        assert await b.read_output(made.id, "other.md") is None
        assert await b.read_output(made.id, "../" + name) is None
        assert await b.outputs(job.id) == []
    finally:
        await a.shutdown(drain_timeout=5)
        if b is not None:
            await b.shutdown(drain_timeout=5)


def test_an_unknown_artifact_store_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(InvalidSpecError) as err:
        claude_jobs.JobManager(data_dir=tmp_path, artifact_store="s3://b/p")
    assert err.value.field == "artifact_store", err.value
    assert "artifact_store" in str(err.value)
