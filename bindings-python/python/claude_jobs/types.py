"""The dict-shaped parts of the API, as ``TypedDict``s (importable at runtime).

- :class:`ManagerOptions`: the keyword arguments of ``JobManager(**options)``
  and ``await JobManager.create(**options)``.
- :class:`JobSpecArgs`: the keyword arguments of ``await manager.submit(prompt, **spec)``.
- :class:`ListQuery`: the keyword arguments of ``await manager.list(**query)``.
- :class:`ManagerStatus`, :class:`StoreHealth`: what ``await manager.status()`` returns.
- :class:`TemplateInfo`, :class:`WorkflowInfo`: ``await manager.templates()``,
  ``await manager.workflows()``.
- :class:`TenantQuota`: the keyword arguments of ``await manager.set_tenant(name, **quota)``;
  :class:`TenantUsage`: what ``await manager.tenant_usage(name)`` returns.
- :class:`Schedule`: what ``await manager.schedule(name, cron, prompt, **spec)`` and
  ``await manager.schedules()`` return.
- :class:`PermissionDenial`: an item of ``JobInfo.permission_denials``.
- :class:`ResumingEventData`, :class:`PermissionDeniedEventData`, :class:`BudgetWaitEventData`:
  the fields of those events (``event.data``).

Every key of the first three is read by the Rust core (``claude_jobs::wire``,
snake_case, durations in seconds): a new field of the core needs one line here.
Unknown keys are refused by the core with an ``InvalidSpecError`` naming them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Optional, TypedDict, Union

from .aliases import (
    CatchUpName,
    DurationLike,
    EffortName,
    IsolationKindName,
    IsolationModeName,
    JobStateName,
    PermissionModeName,
    SettingSourceName,
    SizeLike,
    StrPath,
)

if TYPE_CHECKING:
    from ._native import Job


class ResourceLimitsArgs(TypedDict, total=False):
    """CPU (cores), memory (bytes or ``"512M"``) and process caps."""

    cpus: Optional[float]
    memory: Optional[SizeLike]
    pids: Optional[int]


class RetryBackoff(TypedDict):
    """Backoff before a retried attempt: ``base · 2^(attempt−1)`` with jitter, at most ``max`` (seconds)."""

    base: DurationLike
    max: DurationLike


class Retention(TypedDict, total=False):
    """Days finished jobs, logs and outputs are kept (0: forever)."""

    jobs_days: int
    logs_days: int
    outputs_days: Optional[int]


class RunAs(TypedDict):
    """Run the job's processes as this user and group."""

    uid: int
    gid: int


class OutputArgs(TypedDict, total=False):
    """The output file a job writes in its working dir, and where it is collected."""

    file: str
    folder: str
    name: Optional[str]


class ManagerOptions(TypedDict, total=False):
    """The options of a manager (the core's ``ManagerOptions``); ``None`` is the same as not given."""

    claude_bin: Optional[StrPath]
    data_dir: Optional[StrPath]
    max_concurrent: Optional[Union[int, Literal["auto"]]]
    isolation: Optional[IsolationModeName]
    memory_budget: Optional[Union[SizeLike, Literal["auto", "off"]]]
    cpu_budget: Optional[Union[float, Literal["auto", "off"], str]]
    default_limits: Optional[ResourceLimitsArgs]
    default_timeout: Optional[DurationLike]
    default_idle_timeout: Optional[DurationLike]
    env: Optional[Mapping[str, str]]
    pass_env: Optional[Sequence[str]]
    line_cap: Optional[int]
    max_output_bytes: Optional[int]
    kill_grace: Optional[DurationLike]
    result_grace: Optional[DurationLike]
    monitor_interval: Optional[DurationLike]
    memory_pressure_limit: Optional[DurationLike]
    per_job_config_dir: Optional[bool]
    event_buffer: Optional[int]
    event_buffer_bytes: Optional[int]
    templates_dir: Optional[Union[StrPath, Sequence[StrPath]]]
    child_subreaper: Optional[bool]
    store_url: Optional[str]
    #: ``"local"`` (default), ``"db"`` (the job store) or ``"s3://bucket/prefix"``: where logs and
    #: outputs are kept; with db or s3 every manager on the store serves them.
    artifact_store: Optional[str]
    recovery: Optional[Literal["interrupt", "requeue"]]
    poll_interval: Optional[DurationLike]
    lease_ttl: Optional[DurationLike]
    heartbeat_interval: Optional[DurationLike]
    rescue_interval: Optional[DurationLike]
    event_flush_interval: Optional[DurationLike]
    retry_backoff: Optional[Union[RetryBackoff, tuple[DurationLike, DurationLike]]]
    retention: Optional[Retention]
    node_id: Optional[str]
    #: ``"safe"`` (the built-in policy) or the path of a policy YAML file.
    policy: Optional[str]
    #: The key that signs webhook deliveries.
    webhook_secret: Optional[str]


class JobSpecArgs(TypedDict, total=False):
    """The fields of a job (the core's ``JobSpec``), besides ``prompt``; ``None`` is the same as not given."""

    template: Optional[str]
    variables: Optional[Mapping[str, Union[str, int, float, bool]]]
    working_dir: Optional[StrPath]
    env: Optional[Mapping[str, str]]
    model: Optional[str]
    allowed_tools: Optional[Sequence[str]]
    max_turns: Optional[int]
    max_budget_usd: Optional[float]
    extra_args: Optional[Sequence[str]]
    cpus: Optional[float]
    memory: Optional[SizeLike]
    pids: Optional[int]
    timeout: Optional[DurationLike]
    idle_timeout: Optional[DurationLike]
    priority: Optional[int]
    labels: Optional[Mapping[str, str]]
    run_as: Union[RunAs, tuple[int, int], None]
    depends_on: Optional[Iterable[Union[str, Job]]]
    inputs: Optional[Mapping[str, Union[str, Job]]]
    output: Optional[OutputArgs]
    max_attempts: Optional[int]
    #: Who the job is for: the policy's rules and the store's quotas of that tenant.
    tenant: Optional[str]
    #: A second submit with the same key (and tenant) within 24 h returns the first job.
    idempotency_key: Optional[str]
    #: Where the job's final info is POSTed (signed with the manager's ``webhook_secret``).
    webhook_url: Optional[str]
    # The agent options (the README's "Agent options"): each becomes a ``--flag=value``.
    disallowed_tools: Optional[Sequence[str]]
    permission_mode: Optional[PermissionModeName]
    system_prompt: Optional[str]
    append_system_prompt: Optional[str]
    #: The ``mcpServers`` object: name → ``{command, args, env}`` or ``{type, url, headers}``.
    mcp_servers: Optional[Mapping[str, Mapping[str, Any]]]
    add_dirs: Optional[Sequence[StrPath]]
    settings: Optional[Mapping[str, Any]]
    setting_sources: Optional[Sequence[SettingSourceName]]
    fallback_model: Optional[str]
    effort: Optional[EffortName]
    #: A JSON Schema (an object): the answer lands in ``JobInfo.structured_output``.
    json_schema: Optional[Mapping[str, Any]]
    #: A job (or its id) whose Claude session this job continues.
    resume: Optional[Union[str, Job]]
    #: With ``resume``: continue in a new session that starts with the earlier messages.
    fork_session: Optional[bool]


class TenantQuota(TypedDict, total=False):
    """A tenant's quota (``set_tenant``'s keywords); ``None`` or not given: no limit."""

    #: Jobs of the tenant running at once.
    max_running: Optional[int]
    #: Jobs of the tenant queued at once: a submit beyond raises ``QuotaExceededError``.
    max_queued: Optional[int]
    #: Spend per UTC day (finished jobs' cost plus running jobs' budget caps).
    daily_budget_usd: Optional[float]


class TenantQuotaInfo(TypedDict):
    """The quota part of :class:`TenantUsage` (every key present)."""

    max_running: Optional[int]
    max_queued: Optional[int]
    daily_budget_usd: Optional[float]


class TenantUsage(TypedDict):
    """What ``await manager.tenant_usage(name)`` returns."""

    name: str
    quota: TenantQuotaInfo
    running: int
    queued: int
    #: Cost of the tenant's jobs that finished today (UTC).
    spent_today_usd: float
    #: Budget caps of its running jobs.
    reserved_usd: float
    #: ``daily_budget_usd - spent_today_usd - reserved_usd``; None without a budget.
    budget_left_usd: Optional[float]


class OutputFile(TypedDict):
    """One collected output of a job (``await manager.outputs(job_id)``)."""

    #: The file name, what ``read_output`` takes.
    name: str
    size: int
    #: SHA-256 of the bytes, lowercase hex.
    sha256: str


class Schedule(TypedDict):
    """A schedule: each tick of ``cron`` submits one job of ``spec`` (labelled
    ``schedule=<name>``), once across every manager on the store."""

    name: str
    #: 5 fields (minute resolution) or 6 with a leading seconds field (``"*/2 * * * * *"``).
    cron: str
    #: ``"UTC"`` or an IANA name such as ``"Europe/Paris"``.
    timezone: str
    catch_up: CatchUpName
    #: The job's fields, as ``submit``'s keywords (``prompt`` included; durations in seconds).
    spec: dict[str, Any]
    #: The latest tick handled (Unix ms); at first, when the schedule was set.
    last_tick_ms: Optional[int]
    #: The next tick after it (Unix ms); None when the expression has no further one.
    next_tick_ms: Optional[int]
    created_ms: int
    updated_ms: int


class PermissionDenial(TypedDict):
    """A tool call the CLI denied (``JobInfo.permission_denials``)."""

    tool_name: str
    tool_use_id: Optional[str]
    tool_input: Any


class ResumingEventData(TypedDict):
    """``resuming``: this attempt continues a Claude session (``--resume``)."""

    session_id: str
    #: The job whose session it is (the job itself after a retry).
    from_job: str
    #: In a new session (``fork_session``).
    fork: bool


class PermissionDeniedEventData(PermissionDenial):
    """``permission_denied``: the CLI denied a tool call."""


class BudgetWaitEventData(TypedDict):
    """``budget_wait``: the job waits in the queue, its tenant's daily budget used up."""

    tenant: str
    budget_usd: float
    left_usd: float


class ListQuery(TypedDict, total=False):
    """Which jobs ``manager.list`` returns (every filter optional)."""

    state: Optional[JobStateName]
    template: Optional[str]
    #: ``"key=value"``.
    label: Optional[str]
    #: Jobs per page (default 100, at most 1000).
    limit: Optional[int]
    #: A previous page's ``next_cursor``.
    cursor: Optional[str]
    tenant: Optional[str]


class StoreHealth(TypedDict):
    """Whether the manager's store answered its latest calls."""

    healthy: bool
    last_error: Optional[str]
    #: When ``healthy`` last changed (Unix ms).
    since_ms: int
    outages: int


class ManagerStatus(TypedDict):
    """What ``await manager.status()`` returns."""

    #: Jobs running in this manager.
    running: int
    #: Jobs queued in the store (for every manager sharing it).
    queued: int
    max_concurrent: int
    isolation: IsolationKindName
    isolation_error: Optional[str]
    #: The store's URL, password masked.
    store_url: str
    store_health: StoreHealth
    node_id: str
    #: Bytes; None: no budget.
    memory_budget: Optional[int]
    #: Cores; None: no budget.
    cpu_budget: Optional[float]
    data_dir: str
    shutting_down: bool
    #: Admissions paused store-wide (the API rate-limited a job) until (Unix ms).
    paused_until_ms: Optional[int]
    paused_reason: Optional[str]


class TemplateVariable(TypedDict):
    required: bool
    description: str
    default: Optional[str]


class TemplateInfo(TypedDict):
    """An instruction template (durations in seconds)."""

    name: str
    description: str
    variables: dict[str, TemplateVariable]
    allowed_tools: list[str]
    model: Optional[str]
    limits: dict[str, Optional[float]]
    timeout: Optional[float]
    idle_timeout: Optional[float]
    output: Optional[dict[str, Optional[str]]]
    source: str


class WorkflowStepInfo(TypedDict):
    name: str
    template: str
    #: Template variable → the earlier step whose output fills it.
    inputs: dict[str, str]


class WorkflowInfo(TypedDict):
    """A workflow file: its steps, in order."""

    name: str
    description: str
    steps: list[WorkflowStepInfo]
    source: str


__all__ = [
    "ManagerOptions",
    "JobSpecArgs",
    "ListQuery",
    "ResourceLimitsArgs",
    "RetryBackoff",
    "Retention",
    "RunAs",
    "OutputArgs",
    "ManagerStatus",
    "StoreHealth",
    "TemplateInfo",
    "TemplateVariable",
    "WorkflowInfo",
    "WorkflowStepInfo",
    "TenantQuota",
    "TenantQuotaInfo",
    "TenantUsage",
    "OutputFile",
    "Schedule",
    "PermissionDenial",
    "ResumingEventData",
    "PermissionDeniedEventData",
    "BudgetWaitEventData",
]
