"""await manager.list(...): pages newest first with a cursor, filters by
state, template and label in the store; running jobs with their live info."""

from __future__ import annotations

import pytest

import claude_jobs
from jobs_helpers import fake_env, wait_until


async def all_pages(manager: claude_jobs.JobManager, **query: object) -> list[list[str]]:
    """The ids of every page of `query`, following the cursors."""
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = await manager.list(cursor=cursor, **query)  # type: ignore[arg-type]
        assert isinstance(page, claude_jobs.JobPage)
        pages.append([i.id for i in page.jobs])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


@pytest.mark.asyncio
async def test_pages_follow_the_cursor(manager: claude_jobs.JobManager) -> None:
    jobs = [await manager.submit(f"job {i}", env=fake_env("trivial")) for i in range(5)]
    for j in jobs:
        await j.wait()
    pages = await all_pages(manager, limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p] == [j.id for j in reversed(jobs)]  # newest first, none twice
    first = await manager.list(limit=2)
    assert len(first) == 2 and first.next_cursor == first.jobs[-1].id
    whole = await manager.list()
    assert len(whole.jobs) == 5 and whole.next_cursor is None


@pytest.mark.asyncio
async def test_filters_by_state_template_and_label(manager: claude_jobs.JobManager) -> None:
    ok = await manager.submit("fine", labels={"team": "a"})
    bad = await manager.submit("broken", env=fake_env("no-result"), labels={"team": "b"})
    brief = await manager.submit(template="brief", variables={"brand": "ACME", "research": "R"}, labels={"team": "a"})
    for j in (ok, bad, brief):
        await j.wait()
    assert [i.id for i in (await manager.list(state="failed")).jobs] == [bad.id]
    assert [i.id for i in (await manager.list(state="succeeded")).jobs] == [brief.id, ok.id]
    assert [i.id for i in (await manager.list(template="brief")).jobs] == [brief.id]
    assert [i.id for i in (await manager.list(label="team=a")).jobs] == [brief.id, ok.id]
    assert [i.id for i in (await manager.list(label="team=a", template="brief")).jobs] == [brief.id]
    assert (await manager.list(label="team=c")).jobs == []
    assert await all_pages(manager, label="team=a", limit=1) == [[brief.id], [ok.id]]
    assert (await manager.list(state="running")).jobs == []


@pytest.mark.asyncio
async def test_a_running_job_is_listed_with_its_live_info(manager: claude_jobs.JobManager) -> None:
    job = await manager.submit("slow", env=fake_env("slow", FAKE_CLAUDE_SECONDS="30"))
    assert await wait_until(lambda: job.state == "running" and job.info().pid is not None)
    (listed,) = (await manager.list(state="running")).jobs
    assert listed.id == job.id and listed.pid == job.info().pid and listed.isolation == job.info().isolation
    await job.cancel()
    assert (await job.wait()).state == "cancelled"
