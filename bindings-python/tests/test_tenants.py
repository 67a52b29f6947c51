"""Policy, tenants and quotas through the binding (issue 18): PolicyViolationError
naming the field, QuotaExceededError with retry_after, set_tenant /
tenant_usage, the manager options `policy` and `webhook_secret`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import claude_jobs
from claude_jobs import InvalidSpecError, PolicyViolationError, QuotaExceededError
from jobs_helpers import make_manager

POLICY = """
forbidden_tools: [Bash]
max_memory: 1G
default_limits: { memory: 256M }
tenants:
  small: { max_queued: 2, max_memory: 512M }
"""


@pytest.mark.asyncio
async def test_the_safe_policy_refuses_naming_the_field(fake_bin: Path, data_dir: Path) -> None:
    async with make_manager(fake_bin, data_dir, policy="safe") as manager:
        for field, kwargs in [
            ("allowed_tools", {"allowed_tools": ["Read", "Bash"]}),
            ("allowed_tools", {"allowed_tools": ["Bash(git log *)"]}),
            ("memory", {"memory": "64G"}),
            ("cpus", {"cpus": 2.5}),
            ("pids", {"pids": 5000}),
            ("timeout", {"timeout": "2h"}),
            ("env", {"env": {"A": "b"}}),
            ("webhook_url", {"webhook_url": "http://127.0.0.1:9/"}),
            ("mcp_servers", {"mcp_servers": {"sh": {"command": "/bin/sh"}}}),
            ("add_dirs", {"add_dirs": ["/"]}),
            ("settings", {"settings": {"hooks": {}}}),
        ]:
            with pytest.raises(PolicyViolationError) as err:
                await manager.submit("x", **kwargs)  # type: ignore[arg-type]
            assert err.value.field == field, (kwargs, err.value)
            assert err.value.code == "POLICY_VIOLATION" and isinstance(err.value, PermissionError)
        # Within the policy: the default caps are applied.
        info = await (await manager.submit("fine", allowed_tools=["Read"])).wait()
        assert info.state == "succeeded", info.error
        assert info.limits.memory == 1 << 30 and info.limits.cpus == 1 and info.limits.pids == 256


@pytest.mark.asyncio
async def test_a_policy_file_and_its_tenant_overrides(fake_bin: Path, data_dir: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    async with make_manager(fake_bin, data_dir, policy=str(policy)) as manager:
        with pytest.raises(PolicyViolationError) as err:
            await manager.submit("x", tenant="small", memory="768M")
        assert err.value.field == "memory"
        ok = await manager.submit("x", tenant="other", memory="768M")
        assert (await ok.wait()).limits.memory == 768 << 20
        # The file's quota is in the store.
        usage = await manager.tenant_usage("small")
        assert usage["quota"] == {"max_running": None, "max_queued": 2, "daily_budget_usd": None}
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_memory: lots\n")
    with pytest.raises(InvalidSpecError) as ierr:
        make_manager(fake_bin, data_dir, policy=str(bad))
    assert ierr.value.field is not None and ierr.value.field.startswith("policy")


@pytest.mark.asyncio
async def test_max_queued_and_the_daily_budget_raise_quota_exceeded(fake_bin: Path, data_dir: Path) -> None:
    # One slot, held by a slow job: the rest stay queued.
    async with make_manager(fake_bin, data_dir, max_concurrent=1) as manager:
        await manager.set_tenant("a", max_queued=2)
        blocker = await manager.submit("hold\nfake-scenario: slow", env={"FAKE_CLAUDE_SECONDS": "30"})
        for _ in range(100):
            if blocker.state == "running":
                break
            await asyncio.sleep(0.05)
        queued = [await manager.submit(f"q{i}", tenant="a") for i in range(2)]
        with pytest.raises(QuotaExceededError) as err:
            await manager.submit("one too many", tenant="a")
        assert err.value.code == "QUOTA_EXCEEDED" and err.value.field == "tenant"
        assert "max_queued" in str(err.value) and isinstance(err.value, RuntimeError)
        assert err.value.tenant == "a"
        # A full queue gives a hint (room comes when a job starts), in seconds.
        assert isinstance(err.value.retry_after, float) and 0 < err.value.retry_after <= 60
        # Another tenant is not affected.
        other = await manager.submit("b's job", tenant="b")
        usage = await manager.tenant_usage("a")
        assert usage["queued"] == 2 and usage["running"] == 0 and usage["name"] == "a"
        # A spent daily budget refuses with retry_after: until 00:00 UTC.
        await manager.set_tenant("c", daily_budget_usd=0.0)
        with pytest.raises(QuotaExceededError) as err:
            await manager.submit("no budget", tenant="c")
        assert err.value.retry_after is not None and 0 < err.value.retry_after <= 86400
        await blocker.cancel()
        for job in [*queued, other]:
            assert (await job.wait()).state == "succeeded"


@pytest.mark.asyncio
async def test_set_tenant_and_tenant_usage_round_trip(manager: claude_jobs.JobManager) -> None:
    empty = await manager.tenant_usage("nobody")
    assert empty == {
        "name": "nobody",
        "quota": {"max_running": None, "max_queued": None, "daily_budget_usd": None},
        "running": 0,
        "queued": 0,
        "spent_today_usd": 0.0,
        "reserved_usd": 0.0,
        "budget_left_usd": None,
    }
    assert set(empty) == set(claude_jobs.TenantUsage.__annotations__)
    quota: claude_jobs.TenantQuota = {"max_running": 2, "max_queued": 50, "daily_budget_usd": 10.0}
    await manager.set_tenant("team-a", **quota)
    info = await (await manager.submit("spend", tenant="team-a")).wait()
    usage = await manager.tenant_usage("team-a")
    assert usage["quota"] == quota
    assert info.cost_usd and usage["spent_today_usd"] == pytest.approx(info.cost_usd)
    assert usage["budget_left_usd"] == pytest.approx(10.0 - info.cost_usd)
    # Replaced, not merged: a quota not given is no limit.
    await manager.set_tenant("team-a", max_running=1)
    assert (await manager.tenant_usage("team-a"))["quota"] == {"max_running": 1, "max_queued": None, "daily_budget_usd": None}
    with pytest.raises(InvalidSpecError) as err:
        await manager.set_tenant("team-a", max_runing=1)  # type: ignore[call-arg]
    assert err.value.field == "max_runing"
    with pytest.raises(InvalidSpecError) as err:
        await manager.set_tenant("team-a", max_queued="many")  # type: ignore[arg-type]
    assert err.value.field == "max_queued"
    with pytest.raises(InvalidSpecError) as err:
        await manager.set_tenant("bad name!", max_queued=1)
    assert err.value.field == "tenant"


def test_webhook_secret_and_policy_options_are_read(fake_bin: Path, data_dir: Path) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [("policy", {"policy": 7}), ("webhook_secret", {"webhook_secret": ["x"]})]
    for field, kwargs in cases:
        with pytest.raises(InvalidSpecError) as err:
            make_manager(fake_bin, data_dir, **kwargs)
        assert err.value.field == field
    with pytest.raises(InvalidSpecError) as err:
        make_manager(fake_bin, data_dir, policy=str(data_dir / "missing.yaml"))
    assert err.value.field == "policy"
