"""Request and response bodies of the HTTP API (they also document /docs)."""

from __future__ import annotations

from typing import Any, Optional, Union

from pydantic import BaseModel, Field

import claude_jobs


class JobRequest(BaseModel):
    """``POST /api/jobs``: a template and its variables, or a prompt; then caps and options."""

    prompt: Optional[str] = Field(None, description="The prompt (when no template is given).")
    template: Optional[str] = Field(None, description="An instruction template: brand-data, brief, draft, …")
    variables: dict[str, str] = Field(default_factory=dict, description="The template's variables.")
    cpus: Optional[float] = Field(None, description="CPU cap in cores, e.g. 0.5.", examples=[0.5])
    memory: Optional[Union[int, str]] = Field(None, description='Memory cap: bytes or "512M", "1.5G".', examples=["512M"])
    pids: Optional[int] = Field(None, description="Process cap.", examples=[256])
    timeout: Optional[float] = Field(None, description="Wall-clock limit in seconds.", examples=[600])
    idle_timeout: Optional[float] = Field(None, description="Stop when the CLI prints nothing for this long (s).")
    model: Optional[str] = None
    allowed_tools: list[str] = Field(default_factory=list, examples=[["Read", "Write"]])
    max_turns: Optional[int] = None
    priority: int = Field(0, description="Higher runs first.")
    labels: dict[str, str] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list, description="Ids of jobs that must succeed first.")
    max_attempts: Optional[int] = Field(None, description="Runs allowed (retries of transient failures).")


class UsageOut(BaseModel):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int


class StatsOut(BaseModel):
    peak_memory_bytes: int
    cpu_usage_usec: int
    cpu_throttled_usec: int
    nr_throttled: int
    peak_processes: int
    memory_cap_hits: int
    oom_kills: int


class LimitsOut(BaseModel):
    cpus: Optional[float]
    memory: Optional[int]
    pids: Optional[int]


class JobOut(BaseModel):
    """A job's snapshot (``JobInfo``); times are Unix milliseconds."""

    id: str
    state: str = Field(description="queued, running, succeeded, failed, cancelled, timed_out, oom_killed, interrupted")
    template: Optional[str]
    labels: dict[str, str]
    priority: int
    created_at: int
    started_at: Optional[int]
    finished_at: Optional[int]
    attempt: int
    pid: Optional[int]
    isolation: str
    exit_code: Optional[int]
    signal: Optional[int]
    error: Optional[str]
    result: Optional[str]
    cost_usd: Optional[float]
    usage: Optional[UsageOut]
    session_id: Optional[str]
    num_turns: Optional[int]
    model: Optional[str]
    cli_version: Optional[str]
    api_error_status: Optional[int]
    stats: StatsOut
    limits: LimitsOut
    log_dir: Optional[str]
    outputs: list[str]

    @classmethod
    def of(cls, info: claude_jobs.JobInfo) -> JobOut:
        return cls.model_validate(info.to_dict())


class CancelOut(BaseModel):
    id: str
    cancelled: bool = Field(description="False when the job had already finished.")
    state: str


class HealthOut(BaseModel):
    status: str
    running: int
    max_concurrent: int
    isolation: str
    isolation_error: Optional[str]
    store: str
    store_healthy: bool


TemplateOut = dict[str, Any]
