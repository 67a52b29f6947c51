"""claude_jobs: run Claude Code CLI jobs as OS processes, each in its own
Linux cgroup with CPU, memory and process caps; asyncio-native.

Quick start::

    import asyncio
    import claude_jobs

    async def main() -> None:
        async with claude_jobs.JobManager(max_concurrent=3, data_dir="./claude-jobs-data") as manager:
            job = await manager.submit(prompt="Write a one-paragraph brief.", cpus=0.5, memory="512M", timeout=600)
            async for event in job.events():
                print(event.seq, event.type)
            info = await job.wait()
            print(info.state, info.result, info.cost_usd, info.stats.peak_memory_bytes)

    asyncio.run(main())

Names follow the Rust crate: ``JobManager.submit`` → ``Job``; ``Job.wait``,
``Job.cancel``, ``Job.events``; ``JobManager.get``, ``JobManager.list`` and
``JobManager.shutdown`` are coroutines too. Errors are ``ClaudeJobsError``
subclasses (see :mod:`claude_jobs.errors`).

Fork safety: the native runtime is rebuilt in a child after ``fork()``
(multiprocessing, gunicorn). Objects inherited from the parent raise
``ClaudeJobsError`` in the child; create a new ``JobManager`` there.
"""

from __future__ import annotations

import atexit

from .aliases import (
    DurationLike,
    IsolationKindName,
    IsolationModeName,
    JobStateName,
    SizeLike,
    StrPath,
)
from .errors import (
    CapacityExceededError,
    ClaudeJobsError,
    InvalidSpecError,
    IsolationError,
    JobNotFoundError,
    ManagerIOError,
    ShuttingDownError,
    SpawnError,
    StoreError,
    TemplateError,
)
from ._native import (
    _drain_at_exit,
    FINAL_STATES,
    JOB_STATES,
    EventStream,
    Job,
    JobEvent,
    JobInfo,
    JobManager,
    ResourceLimits,
    ResourceStats,
    Usage,
    __version__,
    parse_duration,
    parse_size,
)

# The binding's tasks end before the interpreter finalizes (see _drain_at_exit).
atexit.register(_drain_at_exit, 1.0)

__all__ = [
    "JobManager",
    "Job",
    "JobInfo",
    "JobEvent",
    "EventStream",
    "Usage",
    "ResourceStats",
    "ResourceLimits",
    "JOB_STATES",
    "FINAL_STATES",
    "parse_size",
    "parse_duration",
    "ClaudeJobsError",
    "InvalidSpecError",
    "JobNotFoundError",
    "SpawnError",
    "IsolationError",
    "TemplateError",
    "StoreError",
    "ShuttingDownError",
    "CapacityExceededError",
    "ManagerIOError",
    "JobStateName",
    "IsolationKindName",
    "IsolationModeName",
    "DurationLike",
    "SizeLike",
    "StrPath",
    "__version__",
]
