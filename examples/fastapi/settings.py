"""The service's configuration, read from environment variables."""

from __future__ import annotations

import os
from collections.abc import MutableMapping
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
    - ``CLAUDE_JOBS_ARTIFACT_STORE``: where logs and outputs are kept: ``local`` (default: the
      data dir of the machine that ran the job) or ``db`` (the job store, so every service on it
      serves them)
    - ``CLAUDE_JOBS_MEMORY_BUDGET``: ``auto`` (default: available memory − 2 GiB), ``off`` or a
      size; a job starts only when the memory caps of the running jobs plus its own fit
    - ``CLAUDE_JOBS_CPU_BUDGET``: ``off`` (default), ``auto`` (the host's CPUs) or a number of cores
    - ``HOST`` (default ``127.0.0.1``), ``PORT`` (default ``8000``): where ``python app.py`` listens
    - ``CLAUDE_JOBS_API_KEYS_FILE``: one ``tenant:sha256hex-of-key`` a line (see auth.py); without
      it there is no authentication, and ``python app.py`` refuses a ``HOST`` that is not loopback
    - ``CLAUDE_JOBS_POLICY_FILE``: a policy YAML (the core's ``policy`` option); default: the
      built-in ``safe`` policy
    - ``CLAUDE_JOBS_METRICS_PUBLIC``: ``1`` serves ``/metrics`` without a key
    - ``CLAUDE_JOBS_WEBHOOK_SECRET``: signs webhook deliveries (the core's ``webhook_secret``)

    Each of these, and ``ANTHROPIC_API_KEY``, may be given as ``NAME_FILE``: the path of a
    file holding the value (container secrets); see `read_file_variables`.
    """

    claude_bin: str = "claude"
    data_dir: Path = Path("claude-jobs-data")
    max_concurrent: Union[int, Literal["auto"]] = 3
    isolation: claude_jobs.IsolationModeName = "auto"
    templates_dir: Optional[Path] = None
    store_url: Optional[str] = None
    #: ``"local"`` or ``"db"`` (checked by the binding: InvalidSpecError naming ``artifact_store``).
    artifact_store: str = "local"
    memory_budget: Union[int, str, None] = None
    cpu_budget: Union[float, str, None] = None
    #: Seconds between SIGTERM and killing a stopped job's whole cgroup.
    kill_grace: float = 10.0
    #: Seconds between SSE keep-alive comments while a job is quiet.
    sse_keepalive: float = 15.0
    #: Extra environment for every job's CLI (not settable per request).
    job_env: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 8000
    #: ``tenant:sha256hex`` lines; None: no authentication, no tenants.
    api_keys_file: Optional[Path] = None
    #: A policy YAML, or None for the core's built-in ``safe`` policy.
    policy_file: Optional[Path] = None
    metrics_public: bool = False
    webhook_secret: Optional[str] = None

    @property
    def policy(self) -> str:
        """The manager's ``policy`` option: the file's path, or ``"safe"``."""
        return str(self.policy_file) if self.policy_file else "safe"

    @classmethod
    def from_env(cls) -> Settings:
        read_file_variables(os.environ)
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
            artifact_store=(os.environ.get("CLAUDE_JOBS_ARTIFACT_STORE") or "local").strip(),
            # Checked by the binding (InvalidSpecError naming the option).
            memory_budget=os.environ.get("CLAUDE_JOBS_MEMORY_BUDGET") or None,
            cpu_budget=os.environ.get("CLAUDE_JOBS_CPU_BUDGET") or None,
            host=os.environ.get("HOST") or "127.0.0.1",
            port=read_port(os.environ.get("PORT") or "8000"),
            api_keys_file=path_or_none(os.environ.get("CLAUDE_JOBS_API_KEYS_FILE")),
            policy_file=path_or_none(os.environ.get("CLAUDE_JOBS_POLICY_FILE")),
            metrics_public=os.environ.get("CLAUDE_JOBS_METRICS_PUBLIC", "").strip() == "1",
            webhook_secret=os.environ.get("CLAUDE_JOBS_WEBHOOK_SECRET") or None,
        )


def path_or_none(value: Optional[str]) -> Optional[Path]:
    return Path(value) if value and value.strip() else None


def read_port(text: str) -> int:
    """``PORT``: 0 (a free port) to 65535."""
    if not text.strip().isdigit() or int(text) > 65535:
        raise ValueError(f"PORT must be a port number (0-65535), got {text!r}")
    return int(text)


#: The variables that may be given as ``NAME_FILE`` (a file holding the value).
FILE_VARIABLES = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_BIN",
    "CLAUDE_JOBS_DATA_DIR",
    "MAX_CONCURRENT_JOBS",
    "CLAUDE_JOBS_ISOLATION",
    "CLAUDE_JOBS_TEMPLATES_DIR",
    "CLAUDE_JOBS_STORE",
    "CLAUDE_JOBS_ARTIFACT_STORE",
    "CLAUDE_JOBS_MEMORY_BUDGET",
    "CLAUDE_JOBS_CPU_BUDGET",
    "HOST",
    "PORT",
    "CLAUDE_JOBS_API_KEYS_FILE",
    "CLAUDE_JOBS_POLICY_FILE",
    "CLAUDE_JOBS_METRICS_PUBLIC",
    "CLAUDE_JOBS_WEBHOOK_SECRET",
)


def read_file_variables(environ: MutableMapping[str, str]) -> None:
    """Sets ``NAME`` from the file named by ``NAME_FILE`` (Docker and compose secrets,
    ``/run/secrets/…``), for each name of `FILE_VARIABLES`; the trailing newline is dropped.
    ``ANTHROPIC_API_KEY`` then reaches the jobs like a plain variable. Setting both
    ``NAME`` and ``NAME_FILE`` is an error, as is a file that cannot be read (naming it)."""
    for name in FILE_VARIABLES:
        path = environ.get(f"{name}_FILE")
        if not path:
            continue
        if environ.get(name):
            raise ValueError(f"both {name} and {name}_FILE are set: set one")
        try:
            environ[name] = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as e:
            raise ValueError(f"{name}_FILE: cannot read {path}: {e.strerror}") from None
