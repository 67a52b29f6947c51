"""Resource-aware admission (memory_budget, cpu_budget) and manager.metrics()."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import claude_jobs
from jobs_helpers import fake_env, make_manager

MIB = 1 << 20


def max_overlap(infos: list[claude_jobs.JobInfo]) -> int:
    spans = [(i.started_at or 0, i.finished_at or 0) for i in infos]
    return max(sum(1 for a, b in spans if a <= s < b) for s, _ in spans)


@pytest.mark.asyncio
async def test_memory_budget_bounds_running_jobs(fake_bin: Path, data_dir: Path) -> None:
    async with make_manager(
        fake_bin, data_dir, max_concurrent=5, isolation="off", memory_budget="300M"
    ) as manager:
        status = await manager.status()
        assert status["memory_budget"] == 300 * MIB and status["cpu_budget"] is None
        jobs = [
            await manager.submit(prompt="wait", memory="128M", env=fake_env("slow", FAKE_CLAUDE_SECONDS="0.4"))
            for _ in range(5)
        ]
        infos = [await j.wait() for j in jobs]
        assert [i.state for i in infos] == ["succeeded"] * 5
        # Two 128 MiB caps fit in 300 MiB, a third does not: not max_concurrent (5).
        assert max_overlap(infos) == 2


@pytest.mark.asyncio
async def test_a_cap_beyond_the_budget_is_refused(fake_bin: Path, data_dir: Path) -> None:
    async with make_manager(fake_bin, data_dir, isolation="off", memory_budget=300 * MIB, cpu_budget=1.0) as manager:
        assert (await manager.status())["cpu_budget"] == 1.0
        with pytest.raises(claude_jobs.CapacityExceededError) as e:
            await manager.submit(prompt="x", memory="512M")
        assert isinstance(e.value, ValueError) and e.value.field == "memory"
        assert e.value.code == "CAPACITY_EXCEEDED" and "300 MiB" in str(e.value)
        with pytest.raises(claude_jobs.CapacityExceededError) as e:
            await manager.submit(prompt="x", cpus=1.5)
        assert e.value.field == "cpus"
        assert (await manager.list()).jobs == []
        assert (await (await manager.submit(prompt="fits", memory="256M")).wait()).state == "succeeded"


@pytest.mark.parametrize(
    "options,field",
    [({"memory_budget": "lots"}, "memory_budget"), ({"memory_budget": 1024}, "memory_budget"),
     ({"cpu_budget": -1.0}, "cpu_budget"), ({"cpu_budget": "many"}, "cpu_budget")],
)
def test_bad_budgets_name_the_option(fake_bin: Path, data_dir: Path, options: dict[str, object], field: str) -> None:
    with pytest.raises(claude_jobs.InvalidSpecError) as e:
        make_manager(fake_bin, data_dir, **options)
    assert e.value.field == field


@pytest.mark.asyncio
async def test_the_default_memory_budget_keeps_a_reserve(fake_bin: Path, data_dir: Path) -> None:
    manager = make_manager(fake_bin, data_dir, isolation="off")
    budget = (await manager.status())["memory_budget"]
    await manager.shutdown()
    assert budget is not None and 0 < budget
    meminfo = Path("/proc/meminfo").read_text()
    available = int(re.search(r"MemAvailable:\s+(\d+)", meminfo).group(1)) * 1024  # type: ignore[union-attr]
    assert budget <= available  # available minus 2 GiB, or half of it on a small host


def metric(text: str, name: str, labels: str = "") -> float:
    m = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.M)
    assert m, f"{name}{labels} missing in:\n{text}"
    return float(m.group(1))


@pytest.mark.asyncio
async def test_metrics_reflect_finished_jobs(fake_bin: Path, data_dir: Path) -> None:
    async with make_manager(fake_bin, data_dir, isolation="off") as manager:
        before = await manager.metrics()
        assert metric(before, "claude_jobs_queue_length") == 0
        assert f'claude_jobs_jobs{{state="succeeded"}}' not in before or metric(
            before, "claude_jobs_jobs", '{state="succeeded"}'
        ) == 0
        await (await manager.submit(prompt="one")).wait()
        await (await manager.submit(template="brief", variables={"brand": "ACME", "research": "R"})).wait()
        failed = await (await manager.submit(prompt="x", env=fake_env("error-result"))).wait()
        text = await manager.metrics()
        assert metric(text, "claude_jobs_jobs", '{state="succeeded"}') == 2
        assert metric(text, "claude_jobs_jobs", f'{{state="{failed.state}"}}') == 1
        assert "# TYPE claude_jobs_job_duration_seconds histogram" in text
        assert 'template="brief"' in text
        assert "ANTHROPIC_API_KEY" not in text
