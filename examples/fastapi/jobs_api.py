"""The job API: ``/api/jobs`` (submit, list, get, logs, outputs, events,
cancel, resume) and ``GET /api/tenant``. Every job the routes touch is the request's
tenant's (access.py); submits carry the key's tenant."""

from __future__ import annotations

from typing import Any, Optional, Union, cast

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

import claude_jobs
from access import check_inputs, job_of, manager_of, tenant_of
from http_errors import invalid_field
from sse import FrameCache, sse
from schemas import CancelOut, JobFields, JobListOut, JobOut, JobRequest, OutputListOut, ResumeRequest, TenantOut

#: Default cap on the bytes of each log returned by /logs (the end is kept).
LOG_TAIL_BYTES = 1 << 20

router = APIRouter()


async def submit_spec(request: Request, body: JobFields, idempotency_key: Optional[str], **more: Any) -> JobOut:
    """Submits the body's fields as the request's tenant."""
    await check_inputs(request, body.inputs)
    spec: dict[str, Any] = {**body.model_dump(exclude_none=True), **more}
    tenant = tenant_of(request)
    if tenant is not None:
        spec["tenant"] = tenant
    if idempotency_key is not None:
        spec["idempotency_key"] = idempotency_key
    job = await manager_of(request).submit(**spec)
    return JobOut.of(job.info())


IDEMPOTENCY = Header(None, alias="Idempotency-Key", description="A repeated key (per tenant, 24 h) returns the first job.")
ERRORS: dict[Union[int, str], dict[str, Any]] = {
    403: {"description": "The server's policy refuses a field (`field` names it)."},
    422: {"description": "A field is invalid (named in `loc`)."},
    429: {"description": "The tenant's quota is used up (`Retry-After`)."},
}


@router.post("/api/jobs", status_code=201, response_model=JobOut, responses=ERRORS)
async def submit(body: JobRequest, request: Request, idempotency_key: Optional[str] = IDEMPOTENCY) -> JobOut:
    return await submit_spec(request, body, idempotency_key)


@router.post("/api/jobs/{job_id}/resume", status_code=201, response_model=JobOut, responses=ERRORS)
async def resume(
    job_id: str, body: ResumeRequest, request: Request, idempotency_key: Optional[str] = IDEMPOTENCY
) -> Union[JobOut, JSONResponse]:
    """A new job that continues this job's Claude session (its prompt is the
    next message), inheriting the options its body does not set."""
    await job_of(request, job_id)  # 404 for an unknown job or another tenant's
    try:
        return await submit_spec(request, body, idempotency_key, resume=job_id)
    except claude_jobs.InvalidSpecError as exc:
        if exc.field != "resume":
            raise
        return invalid_field(["path", "job_id"], str(exc), "invalid_spec")


@router.get("/api/jobs", response_model=JobListOut, responses={422: {"description": "A bad query parameter (named in `loc`)."}})
async def list_jobs(
    request: Request,
    state: Optional[str] = Query(None, description="Only jobs in this state (queued, running, succeeded, …)."),
    template: Optional[str] = Query(None, description="Only jobs made from this template."),
    label: Optional[str] = Query(None, description="Only jobs with this label, as key=value."),
    limit: Optional[int] = Query(None, description="Jobs per page (default 100, at most 1000)."),
    cursor: Optional[str] = Query(None, description="A previous page's next_cursor."),
) -> Union[JobListOut, JSONResponse]:
    """One page of the tenant's jobs, newest first; `next_cursor` (null on the last page) fetches the next."""
    try:
        # The core checks every parameter (an unknown state is an InvalidSpecError naming it).
        wanted = cast(Optional[claude_jobs.JobStateName], state)
        page = await manager_of(request).list(
            state=wanted, template=template, label=label, limit=limit, cursor=cursor, tenant=tenant_of(request)
        )
    except claude_jobs.InvalidSpecError as exc:
        return invalid_field(["query", exc.field or "query"], str(exc), "invalid_spec")
    return JobListOut(jobs=[JobOut.of(i) for i in page.jobs], next_cursor=page.next_cursor)


@router.get("/api/jobs/{job_id}", response_model=JobOut)
async def get_job(job_id: str, request: Request) -> JobOut:
    return JobOut.of((await job_of(request, job_id)).info())


@router.get("/api/jobs/{job_id}/logs", response_class=PlainTextResponse)
async def logs(job_id: str, request: Request, tail_bytes: int = Query(LOG_TAIL_BYTES, ge=0)) -> str:
    """The CLI's stdout and stderr logs (the last `tail_bytes` of each), wherever
    the job ran when the artifact store is the job store (`CLAUDE_JOBS_ARTIFACT_STORE=db`)."""
    await job_of(request, job_id)  # 404 for an unknown job or another tenant's
    manager = manager_of(request)
    parts = []
    for stream in ("stdout", "stderr"):
        # Empty when there is none yet, or when it is not a regular file (a link or FIFO a job planted).
        data = await manager.read_log(job_id, stream, tail_bytes=tail_bytes)
        parts.append(f"===== {stream}.log =====\n{data.decode('utf-8', errors='replace')}")
    return "\n".join(parts)


@router.get("/api/jobs/{job_id}/outputs", response_model=OutputListOut)
async def outputs(job_id: str, request: Request) -> OutputListOut:
    """The job's collected output files (name, size, SHA-256); each one's content
    is at `/api/jobs/{id}/outputs/{name}`."""
    await job_of(request, job_id)
    return OutputListOut.model_validate({"outputs": await manager_of(request).outputs(job_id)})


@router.get("/api/jobs/{job_id}/events")
async def events(
    job_id: str,
    request: Request,
    after: int = Query(0, ge=0, description="Resume after this event seq."),
    last_event_id: Optional[str] = Header(None),
) -> StreamingResponse:
    """Server-sent events: past events, then live ones until the job ends.
    Each event's `id` is its seq; `Last-Event-ID` (or `?after=`) resumes."""
    job = await job_of(request, job_id)
    if last_event_id and last_event_id.strip().isdigit():
        after = max(after, int(last_event_id))
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    keepalive: float = request.app.state.settings.sse_keepalive
    frames: FrameCache = request.app.state.sse_frames
    return StreamingResponse(sse(job, after, keepalive, frames), media_type="text/event-stream", headers=headers)


@router.delete("/api/jobs/{job_id}", response_model=CancelOut)
async def cancel(job_id: str, request: Request) -> CancelOut:
    job = await job_of(request, job_id)
    cancelled = await job.cancel()
    return CancelOut(id=job.id, cancelled=cancelled, state=job.state)


@router.get("/api/tenant", response_model=TenantOut)
async def tenant(request: Request) -> TenantOut:
    """The key's tenant, its quota and what it uses now (from the store, for
    every service sharing it); without a keys file, tenant null and nothing used."""
    name = tenant_of(request)
    if name is None:
        none = {"max_running": None, "max_queued": None, "daily_budget_usd": None}
        return TenantOut.model_validate(
            {"tenant": None, "quota": none, "running": 0, "queued": 0, "spent_today_usd": 0.0, "reserved_usd": 0.0, "budget_left_usd": None}
        )
    usage = await manager_of(request).tenant_usage(name)
    return TenantOut.model_validate({**usage, "tenant": usage["name"]})
