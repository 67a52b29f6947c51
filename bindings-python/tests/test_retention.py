"""retention={"outputs_days": 0} keeps collected outputs (0 days means keep,
as unset does). The core's retention pass runs a minute after the manager
starts; this test waits for it (the Node binding once read 0 as "delete
everything older than now", which deleted every output within a minute)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from jobs_helpers import make_manager

#: The core runs its first retention pass this long after the start (manager/retention.rs).
FIRST_PASS_S = 60


@pytest.mark.asyncio
@pytest.mark.timeout(150)
async def test_outputs_days_zero_keeps_outputs(fake_bin: Path, data_dir: Path) -> None:
    started = time.monotonic()
    manager = make_manager(fake_bin, data_dir, retention={"outputs_days": 0, "jobs_days": 0, "logs_days": 0})
    try:
        job = await manager.submit(template="brief", variables={"brand": "ACME", "research": "R"})
        info = await job.wait()
        assert info.state == "succeeded" and info.outputs, info.error
        (output,) = info.outputs
        assert output.is_file()
        await asyncio.sleep(max(0.0, FIRST_PASS_S + 5 - (time.monotonic() - started)))
        assert output.is_file(), "the retention pass deleted an output that outputs_days=0 keeps"
        assert (await manager.get(job.id)).info().outputs == [output]
    finally:
        await manager.shutdown()
