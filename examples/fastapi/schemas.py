"""Request and response bodies of the HTTP API (they also document /docs)."""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

import claude_jobs


class JobFields(BaseModel):
    """A job's fields: a template and its variables, or a prompt; then caps and
    options. Every field is checked by the core and by the server's policy
    (a field the policy forbids is a 403 naming it). Unknown fields (and
    ``tenant``: it comes from the API key) are refused with a 422 naming them."""

    model_config = ConfigDict(extra="forbid")

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
    max_budget_usd: Optional[float] = Field(None, description="--max-budget-usd (at most what is left of the tenant's daily budget).")
    priority: int = Field(0, description="Higher runs first.")
    labels: dict[str, str] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list, description="Ids of jobs that must succeed first.")
    inputs: dict[str, str] = Field(
        default_factory=dict,
        description="Template variable → the id of an earlier job of the tenant whose output fills it (the job waits for it).",
    )
    max_attempts: Optional[int] = Field(None, description="Runs allowed (retries of transient failures).")
    disallowed_tools: list[str] = Field(default_factory=list, description="A bare name removes the tool; a rule (Bash(rm *)) denies matching calls.")
    permission_mode: Optional[str] = Field(None, description="default, acceptEdits, plan, bypassPermissions, dontAsk, auto.")
    system_prompt: Optional[str] = Field(None, description="Replaces the CLI's system prompt.")
    append_system_prompt: Optional[str] = Field(None, description="Added at the end of the system prompt.")
    mcp_servers: Optional[dict[str, Any]] = Field(None, description="The mcpServers object (name → {command, args, env} or {type, url, headers}).")
    add_dirs: list[str] = Field(default_factory=list, description="More directories the CLI may use.")
    settings: Optional[dict[str, Any]] = Field(None, description="A settings object (--settings).")
    setting_sources: Optional[list[str]] = Field(None, description="user, project, local ([]: none).")
    fallback_model: Optional[str] = None
    effort: Optional[str] = Field(None, description="low, medium, high, xhigh, max.")
    json_schema: Optional[dict[str, Any]] = Field(None, description="A JSON Schema: the answer lands in structured_output.")
    fork_session: Optional[bool] = Field(None, description="With resume: continue in a new session.")
    webhook_url: Optional[str] = Field(None, description="Where the job's final info is POSTed, signed (when the policy allows it).")


class JobRequest(JobFields):
    """``POST /api/jobs``. ``Idempotency-Key`` (a header) makes a repeated submit return the first job."""

    resume: Optional[str] = Field(None, description="A job id: continue that job's Claude session.")


class ResumeRequest(JobFields):
    """``POST /api/jobs/{id}/resume``: the next prompt (or a template) of that job's session,
    optional ``fork_session`` and overrides of the options it inherits."""


class ScheduleFields(BaseModel):
    """A schedule: each tick of ``cron`` submits one job of ``spec`` as the key's tenant,
    labelled ``schedule=<name>``, once across every service on the store."""

    model_config = ConfigDict(extra="forbid")

    cron: str = Field(
        description="5 fields (minute hour day-of-month month day-of-week) or 6 with a leading seconds field.",
        examples=["0 9 * * 1-5", "*/30 * * * * *"],
    )
    timezone: Optional[str] = Field(None, description='"UTC" (the default) or an IANA name such as "Europe/Paris".')
    catch_up: Optional[Literal["run_once", "skip"]] = Field(
        None, description="Ticks missed while every manager was down: run_once (the default) submits one job at start; skip, none."
    )
    spec: JobFields = Field(description="The job each tick submits: the fields of POST /api/jobs.")


class ScheduleRequest(ScheduleFields):
    """``PUT /api/schedules/{name}``: creates the schedule or replaces it."""


class ScheduleCreate(ScheduleFields):
    """``POST /api/schedules``: the same, the name in the body."""

    name: str = Field(description="The schedule's name (its jobs' label schedule=<name>).", examples=["nightly-report"])


class ScheduleOut(BaseModel):
    """A schedule; times are Unix milliseconds."""

    name: str
    cron: str
    timezone: str
    catch_up: str
    spec: dict[str, Any] = Field(description="The job's fields (durations in seconds, sizes in bytes; tenant from the key).")
    last_tick_ms: Optional[int] = Field(description="The latest tick handled; at first, when the schedule was set.")
    next_tick_ms: Optional[int] = Field(description="The next tick; null when the expression has none.")
    created_ms: int
    updated_ms: int


class ScheduleListOut(BaseModel):
    """``GET /api/schedules``: the tenant's schedules, by name."""

    schedules: list[ScheduleOut]


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


class PermissionDenialOut(BaseModel):
    tool_name: str
    tool_use_id: Optional[str]
    tool_input: Any


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
    tenant: Optional[str] = Field(description="The tenant of the key that submitted it (null without keys).")
    structured_output: Optional[dict[str, Any]] = Field(description="With json_schema: the answer.")
    permission_denials: list[PermissionDenialOut]
    resumed_session: Optional[str] = Field(description="With resume: the session it continued.")
    work_dir: Optional[str]
    config_dir: Optional[str]

    @classmethod
    def of(cls, info: claude_jobs.JobInfo) -> JobOut:
        return cls.model_validate(info.to_dict())


class OutputFileOut(BaseModel):
    """One collected output of a job."""

    name: str = Field(description="The file name (GET /api/jobs/{id}/outputs/{name}).")
    size: int = Field(description="Its size in bytes.")
    sha256: str = Field(description="The SHA-256 of its bytes, lowercase hex.")


class OutputListOut(BaseModel):
    """``GET /api/jobs/{id}/outputs``: the job's collected outputs."""

    outputs: list[OutputFileOut]


class JobListOut(BaseModel):
    """``GET /api/jobs``: one page of jobs, newest first."""

    jobs: list[JobOut]
    next_cursor: Optional[str] = Field(description="Pass it as `cursor` for the next page; null on the last page.")


class CancelOut(BaseModel):
    id: str
    cancelled: bool = Field(description="False when the job had already finished.")
    state: str


class HealthOut(BaseModel):
    status: str
    running: int
    queued: int
    max_concurrent: int
    isolation: str
    isolation_error: Optional[str]
    store: str
    store_healthy: bool


class QuotaOut(BaseModel):
    max_running: Optional[int]
    max_queued: Optional[int]
    daily_budget_usd: Optional[float]


class TenantOut(BaseModel):
    """``GET /api/tenant``: the key's tenant, its quota and what it uses now (UTC day)."""

    tenant: Optional[str]
    quota: QuotaOut
    running: int
    queued: int
    spent_today_usd: float
    reserved_usd: float
    budget_left_usd: Optional[float] = Field(description="null without a daily budget.")


TemplateOut = dict[str, Any]
