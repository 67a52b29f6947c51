"""The service's configuration, read from environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional, Union, cast

import claude_jobs


@dataclass(frozen=True)
class Settings:
    """How the service builds its JobManager.

    Environment variables (all optional):

    - ``CLAUDE_BIN``: the Claude Code CLI (default: ``claude`` on ``PATH``)
    - ``CLAUDE_JOBS_DATA_DIR``: logs, working dirs, outputs (default ``./claude-jobs-data``)
    - ``MAX_CONCURRENT_JOBS``: an int or ``auto`` (default 3)
    - ``CLAUDE_JOBS_ISOLATION``: ``auto`` (default), ``required`` or ``off``
    - ``CLAUDE_JOBS_TEMPLATES_DIR``: extra instruction templates (``*.md``)
    - ``CLAUDE_JOBS_STORE``: the job store URL (default ``sqlite://<data dir>/claude-jobs.db``;
      ``postgres://…`` to share one queue between machines, ``memory``)
    - ``CLAUDE_JOBS_MEMORY_BUDGET``: ``auto`` (default: available memory − 2 GiB), ``off`` or a
      size; a job starts only when the memory caps of the running jobs plus its own fit
    - ``CLAUDE_JOBS_CPU_BUDGET``: ``off`` (default), ``auto`` (the host's CPUs) or a number of cores
    """

    claude_bin: str = "claude"
    data_dir: Path = Path("claude-jobs-data")
    max_concurrent: Union[int, Literal["auto"]] = 3
    isolation: claude_jobs.IsolationModeName = "auto"
    templates_dir: Optional[Path] = None
    store_url: Optional[str] = None
    memory_budget: Union[int, str, None] = None
    cpu_budget: Union[float, str, None] = None
    #: Seconds between SIGTERM and killing a stopped job's whole cgroup.
    kill_grace: float = 10.0
    #: Seconds between SSE keep-alive comments while a job is quiet.
    sse_keepalive: float = 15.0
    #: Extra environment for every job's CLI (not settable per request).
    job_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        raw_max = os.environ.get("MAX_CONCURRENT_JOBS", "3").strip()
        templates = os.environ.get("CLAUDE_JOBS_TEMPLATES_DIR")
        return cls(
            claude_bin=os.environ.get("CLAUDE_BIN", "claude"),
            data_dir=Path(os.environ.get("CLAUDE_JOBS_DATA_DIR", "claude-jobs-data")),
            # Anything but a number or "auto" is refused by the binding, naming the option.
            max_concurrent=int(raw_max) if raw_max.isdigit() else cast(Literal["auto"], raw_max),
            # Checked by the binding (InvalidSpecError naming "isolation").
            isolation=cast(claude_jobs.IsolationModeName, os.environ.get("CLAUDE_JOBS_ISOLATION", "auto")),
            templates_dir=Path(templates) if templates else None,
            store_url=os.environ.get("CLAUDE_JOBS_STORE") or None,
            # Checked by the binding (InvalidSpecError naming the option).
            memory_budget=os.environ.get("CLAUDE_JOBS_MEMORY_BUDGET") or None,
            cpu_budget=os.environ.get("CLAUDE_JOBS_CPU_BUDGET") or None,
        )
