"""The rows of the API table that every language has: job.spec(), events(after),
templates(), workflows(), submit_workflow(), unknown names refused by name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import pytest

import claude_jobs
from claude_jobs.types import RunAs


@pytest.mark.asyncio
async def test_submit_workflow_chains_the_steps(manager: claude_jobs.JobManager) -> None:
    (brand,) = [w for w in await manager.workflows() if w["name"] == "brand"]
    assert [s["name"] for s in brand["steps"]] == ["research", "brief", "draft"]
    assert brand["steps"][1]["inputs"] == {"research": "research"}
    wf = await manager.submit_workflow("brand", {"brand": "ACME"})
    assert isinstance(wf, claude_jobs.Workflow) and wf.name == "brand"
    assert [step for step, _ in wf.steps] == ["research", "brief", "draft"]
    research, brief, draft = (job for _, job in wf.steps)
    assert wf.job("brief") == brief and wf.job("nope") is None and wf.last() == draft
    infos = [await j.wait() for j in (research, brief, draft)]
    assert [i.state for i in infos] == ["succeeded"] * 3, [i.error for i in infos]
    assert [i.template for i in infos] == ["brand-data", "brief", "draft"]
    assert all(i.labels["workflow"] == "brand" for i in infos)
    assert [i.labels["step"] for i in infos] == ["research", "brief", "draft"]
    assert draft.spec()["inputs"] == {"brief": brief.id} and brief.spec()["variables"]["brand"] == "ACME"
    assert all(i.outputs for i in infos)


@pytest.mark.asyncio
async def test_submit_workflow_errors(manager: claude_jobs.JobManager) -> None:
    with pytest.raises(claude_jobs.TemplateError) as err:
        await manager.submit_workflow("no-such-workflow", {"brand": "ACME"})
    assert err.value.field == "workflow"
    with pytest.raises(claude_jobs.TemplateError) as err:
        await manager.submit_workflow("brand", {"brand": "ACME", "colour": "red"})
    assert err.value.field == "colour"
    with pytest.raises(claude_jobs.TemplateError):
        await manager.submit_workflow("brand", {})  # brand is required
    with pytest.raises(claude_jobs.InvalidSpecError) as ierr:
        await manager.submit_workflow("brand", {"brand": ["a", "list"]})  # type: ignore[dict-item]
    assert ierr.value.field == "variables.brand"
    assert (await manager.list()).jobs == []  # nothing was submitted


@pytest.mark.asyncio
async def test_spec_round_trips_through_submit(manager: claude_jobs.JobManager, tmp_path: Path) -> None:
    job = await manager.submit(
        "round trip",
        cpus=0.5,
        memory="256M",
        pids=64,
        timeout=45.5,
        idle_timeout="2m",
        labels={"k": "v"},
        run_as=None,
        env={"MY_VAR": "1"},
        max_attempts=2,
    )
    spec = job.spec()
    assert spec["timeout"] == 45.5 and spec["idle_timeout"] == 120 and spec["memory"] == 256 << 20
    assert spec["env"] == {"MY_VAR": "1"} and spec["labels"] == {"k": "v"} and spec["max_attempts"] == 2
    again = await manager.submit(**spec)
    assert again.spec() == spec and again.id != job.id
    for j in (job, again):
        assert (await j.wait()).state == "succeeded"


@pytest.mark.asyncio
async def test_events_after(manager: claude_jobs.JobManager) -> None:
    job = await manager.submit("events")
    await job.wait()
    every = [e async for e in job.events()]
    assert [e async for e in job.events(after=0)] == every
    assert [e.seq async for e in job.events(after=2)] == [e.seq for e in every[2:]]
    assert [e async for e in job.events(after=len(every))] == []


@pytest.mark.asyncio
async def test_run_as_is_uid_and_gid(manager: claude_jobs.JobManager) -> None:
    me: RunAs = {"uid": os.getuid(), "gid": os.getgid()}
    forms: list[Union[RunAs, tuple[int, int]]] = [me, (me["uid"], me["gid"])]
    for run_as in forms:
        job = await manager.submit("as me", run_as=run_as)
        assert job.spec()["run_as"] == me
        assert (await job.wait()).state == "succeeded"
