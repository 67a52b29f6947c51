"""The wheel's check: two capped jobs through claude_jobs (see README.md)."""

import asyncio
import os
import sys
import time

import claude_jobs

CAP = 64 << 20
FAKE = os.environ.get("FAKE_CLAUDE", "/usr/local/bin/fake-claude")


def cgroup_cap(job_id: str) -> int:
    """The memory limit of the job's cgroup, read from /sys/fs/cgroup while it runs."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for top, dirs, _ in os.walk("/sys/fs/cgroup"):
            if os.path.basename(top) == f"job-{job_id}":
                for name in ("memory.limit_in_bytes", "memory.max"):
                    path = os.path.join(top, name)
                    if os.path.exists(path):
                        return int(open(path).read().strip())
            if top.count("/") > 7:
                dirs[:] = []
        time.sleep(0.05)
    raise AssertionError(f"no cgroup job-{job_id} under /sys/fs/cgroup")


async def main() -> int:
    manager = claude_jobs.JobManager(claude_bin=FAKE, data_dir="/tmp/check-python", isolation="required")
    slow = await manager.submit(
        prompt="hello\nfake-scenario: slow",
        memory="64M",
        env={"FAKE_CLAUDE_SECONDS": "2", "FAKE_CLAUDE_INTERVAL_MS": "200"},
    )
    # Once running, its cgroup holds the caps (written and read back before the CLI starts).
    while slow.state == "queued":
        await asyncio.sleep(0.02)
    cap = await asyncio.to_thread(cgroup_cap, slow.id)
    oom = await manager.submit(prompt="eat memory\nfake-scenario: alloc", memory="64M")
    ok, killed = (await slow.wait()).to_dict(), (await oom.wait()).to_dict()
    await manager.shutdown(drain_timeout=5)
    print(
        f"python (claude_jobs {claude_jobs.__version__}, CPython {sys.version.split()[0]}): "
        f"slow {ok['state']} isolation={ok['isolation']} cap read back={cap} limits.memory={ok['limits']['memory']}; "
        f"alloc {killed['state']} isolation={killed['isolation']}"
    )
    assert ok["state"] == "succeeded", ok
    assert killed["state"] == "oom_killed", killed
    for info in (ok, killed):
        assert info["isolation"] in ("cgroup-v1", "cgroup-v2"), info["isolation"]
        assert info["limits"]["memory"] == CAP, info["limits"]
    assert cap == CAP, cap
    return 0


sys.exit(asyncio.run(main()))
