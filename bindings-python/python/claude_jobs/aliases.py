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

__all__ = [
    "JobStateName",
    "IsolationKindName",
    "IsolationModeName",
    "DurationLike",
    "SizeLike",
    "StrPath",
]
