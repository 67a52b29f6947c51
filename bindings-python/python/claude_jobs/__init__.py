"""claude_jobs: run Claude Code CLI jobs as OS processes, each in its own
Linux cgroup with CPU, memory and process caps; asyncio-native.

Quick start::

    import asyncio
    import claude_jobs

    async def main() -> None:
        async with await claude_jobs.JobManager.create(max_concurrent=3, data_dir="./claude-jobs-data") as manager:
            job = await manager.submit("Write a one-paragraph brief.", cpus=0.5, memory="512M", timeout=600)
            async for event in job.events():
                print(event.seq, event.type)
            info = await job.wait()
            print(info.state, info.result, info.cost_usd, info.stats.peak_memory_bytes)

    asyncio.run(main())

Names follow the Rust crate (and the Node package, camelCased there):
``JobManager.submit`` → ``Job``; ``Job.wait``, ``Job.cancel``, ``Job.events``;
``JobManager.get``, ``list``, ``cancel``, ``status``, ``templates``,
``submit_workflow``, ``set_tenant``, ``tenant_usage``, ``schedule``,
``unschedule``, ``schedules``, ``metrics`` and ``shutdown`` are coroutines. The options
and spec fields are the core's (see :mod:`claude_jobs.types`), read by the core
itself: durations in seconds, sizes in bytes or as text (``"512M"``). Errors
are ``ClaudeJobsError`` subclasses (see :mod:`claude_jobs.errors`).

Fork safety: the native runtime is rebuilt in a child after ``fork()``
(multiprocessing, gunicorn). Objects inherited from the parent raise
``ClaudeJobsError`` in the child; create a new ``JobManager`` there.
"""

from __future__ import annotations

import atexit
import typing

from .aliases import (
    CatchUpName,
    DurationLike,
    EffortName,
    IsolationKindName,
    IsolationModeName,
    JobEventTypeName,
    JobStateName,
    PermissionModeName,
    SettingSourceName,
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
    PolicyViolationError,
    QuotaExceededError,
    ShuttingDownError,
    SpawnError,
    StoreError,
    TemplateError,
)
from ._native import (
    _drain_at_exit,
    ERROR_CODES,
    FINAL_STATES,
    JOB_STATES,
    EventBatches,
    EventStream,
    Job,
    JobEvent,
    JobInfo,
    JobManager,
    JobPage,
    ResourceLimits,
    ResourceStats,
    Usage,
    Workflow,
    __version__,
    parse_duration,
    parse_size,
)
from .types import (
    BudgetWaitEventData,
    JobSpecArgs,
    ListQuery,
    ManagerOptions,
    ManagerStatus,
    PermissionDenial,
    PermissionDeniedEventData,
    ResumingEventData,
    OutputFile,
    Schedule,
    StoreHealth,
    TemplateInfo,
    TenantQuota,
    TenantUsage,
    WorkflowInfo,
)

#: Every event ``type``, as the core's ``JobEvent`` tags them.
JOB_EVENT_TYPES: tuple[str, ...] = typing.get_args(JobEventTypeName)

# The binding's tasks end before the interpreter finalizes (see _drain_at_exit).
atexit.register(_drain_at_exit, 1.0)

__all__ = [
    "JobManager",
    "Job",
    "JobInfo",
    "JobEvent",
    "JobPage",
    "Workflow",
    "EventStream",
    "EventBatches",
    "Usage",
    "ResourceStats",
    "ResourceLimits",
    "JOB_STATES",
    "FINAL_STATES",
    "ERROR_CODES",
    "JOB_EVENT_TYPES",
    "ManagerOptions",
    "JobSpecArgs",
    "ListQuery",
    "ManagerStatus",
    "StoreHealth",
    "TemplateInfo",
    "WorkflowInfo",
    "TenantQuota",
    "TenantUsage",
    "OutputFile",
    "Schedule",
    "PermissionDenial",
    "ResumingEventData",
    "PermissionDeniedEventData",
    "BudgetWaitEventData",
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
    "PolicyViolationError",
    "QuotaExceededError",
    "JobStateName",
    "IsolationKindName",
    "IsolationModeName",
    "DurationLike",
    "SizeLike",
    "StrPath",
    "JobEventTypeName",
    "PermissionModeName",
    "EffortName",
    "SettingSourceName",
    "CatchUpName",
    "__version__",
]
