"""Issue 19 through the Python surface: values that used to drop every cap or
wedge the manager are refused at submit naming the field, and the manager
keeps serving; a bad store URL names `store_url`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import claude_jobs
from claude_jobs import ClaudeJobsError, InvalidSpecError
from jobs_helpers import make_manager


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "field,kwargs",
    [
        ("pids", {"pids": 5_000_000}),
        ("pids", {"pids": 2**53}),
        ("timeout", {"timeout": 1e19}),
        ("timeout", {"timeout": 1e20}),
        ("idle_timeout", {"idle_timeout": 1e19}),
    ],
)
async def test_huge_values_are_refused_and_the_manager_serves(
    manager: claude_jobs.JobManager, field: str, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(InvalidSpecError) as err:
        await manager.submit("x", **kwargs)
    assert err.value.field == field, err.value
    info = await (await manager.submit("still serving", timeout=30)).wait()
    assert info.state == "succeeded", info.error
    status = await manager.status()
    assert status["running"] == 0 and status["queued"] == 0


def test_a_bogus_store_url_names_store_url(fake_bin: Path, data_dir: Path) -> None:
    with pytest.raises(ClaudeJobsError) as err:
        make_manager(fake_bin, data_dir, store_url="bogus://x")
    assert err.value.field == "store_url", repr(err.value)
    assert "bogus" in str(err.value)
