"""Type aliases used in the signatures of claude_jobs (importable at runtime)."""

from __future__ import annotations

import datetime
import os
from typing import Literal, Union

#: The snake_case job states, as in the Rust core.
JobStateName = Literal[
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "timed_out",
    "oom_killed",
    "interrupted",
]
#: How a job's processes were isolated.
IsolationKindName = Literal["cgroup-v1", "cgroup-v2", "none"]
#: The manager's isolation mode.
IsolationModeName = Literal["required", "auto", "off", "none"]
#: Seconds (int or float), a ``datetime.timedelta``, or a string like ``"10m"``.
DurationLike = Union[float, int, datetime.timedelta, str]
#: Bytes (int) or a string like ``"512M"``, ``"1.5G"`` (powers of 1024).
SizeLike = Union[int, str]
#: A filesystem path.
StrPath = Union[str, "os.PathLike[str]"]
#: The ``type`` of a job event (the core's ``JobEvent`` tags).
JobEventTypeName = Literal[
    "queued",
    "started",
    "resuming",
    "permission_denied",
    "init",
    "assistant_text",
    "tool_use",
    "tool_result",
    "api_retry",
    "rate_limit",
    "result",
    "memory_pressure",
    "stopping",
    "finished",
    "warning",
    "retrying",
    "budget_wait",
    "other",
]
#: ``permission_mode`` (``--permission-mode``).
PermissionModeName = Literal["default", "acceptEdits", "plan", "bypassPermissions", "dontAsk", "auto"]
#: ``effort`` (``--effort``).
EffortName = Literal["low", "medium", "high", "xhigh", "max"]
#: One of ``setting_sources`` (``--setting-sources``).
SettingSourceName = Literal["user", "project", "local"]
#: What a schedule does with the ticks missed while every manager was down:
#: submit one job for them at start (the default), or none.
CatchUpName = Literal["run_once", "skip"]

__all__ = [
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
]
