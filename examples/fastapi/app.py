"""The seed's job service on claude_jobs: submit Claude CLI jobs over HTTP,
each in its own cgroup, and follow them live.

Run: ``uvicorn app:app`` (configuration: see settings.py). OpenAPI at /docs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Optional

from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

import claude_jobs
import dashboard
from schemas import CancelOut, HealthOut, JobOut, JobRequest, TemplateOut
from settings import Settings

#: Default cap on the bytes of each log returned by /logs (the end is kept).
LOG_TAIL_BYTES = 1 << 20


def create_app(settings: Optional[Settings] = None) -> FastAPI:
    """The app; `settings` default to the environment."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        s: Settings = app.state.settings
        # Built here, not at import: each (forked) uvicorn/gunicorn worker gets its own.
        app.state.manager = claude_jobs.JobManager(
            claude_bin=s.claude_bin,
            data_dir=s.data_dir,
            max_concurrent=s.max_concurrent,
            isolation=s.isolation,
            templates_dir=s.templates_dir,
            store_url=s.store_url,
            kill_grace=s.kill_grace,
            env=s.job_env,
            memory_budget=s.memory_budget,
            cpu_budget=s.cpu_budget,
        )
        yield
        await app.state.manager.shutdown(drain_timeout=30)

    app = FastAPI(title="claude-jobs service", version=claude_jobs.__version__, lifespan=lifespan)
    app.state.settings = settings or Settings.from_env()
    add_error_handlers(app)
    add_routes(app)
    dashboard.install(app)  # the page at / and its endpoints (dashboard.py)
    return app


def manager_of(request: Request) -> claude_jobs.JobManager:
    m: claude_jobs.JobManager = request.app.state.manager
    return m


def add_error_handlers(app: FastAPI) -> None:
    """Bad fields → 422 naming the field (FastAPI's shape), unknown ids → 404."""

    @app.exception_handler(claude_jobs.InvalidSpecError)
    @app.exception_handler(claude_jobs.TemplateError)
    @app.exception_handler(claude_jobs.CapacityExceededError)
    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, claude_jobs.ClaudeJobsError)
        loc = ["body"]
        if exc.field:
            in_body = exc.field in JobRequest.model_fields
            loc += [exc.field] if in_body else ["variables", exc.field]
        detail = [{"loc": loc, "msg": str(exc), "type": (exc.code or "invalid").lower()}]
        return JSONResponse(status_code=422, content={"detail": detail})

    @app.exception_handler(claude_jobs.JobNotFoundError)
    async def not_found(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(claude_jobs.ClaudeJobsError)
    async def other(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, claude_jobs.ClaudeJobsError)
        status = 503 if isinstance(exc, claude_jobs.ShuttingDownError) else 500
        return JSONResponse(status_code=status, content={"detail": str(exc), "code": exc.code})


def add_routes(app: FastAPI) -> None:
    @app.post("/api/jobs", status_code=201, response_model=JobOut)
    async def submit(body: JobRequest, request: Request) -> JobOut:
        job = await manager_of(request).submit(**body.model_dump(exclude_none=True))
        return JobOut.of(job.info())

    @app.get("/api/jobs", response_model=list[JobOut])
    async def list_jobs(request: Request, state: Optional[str] = None) -> list[JobOut]:
        infos = await manager_of(request).list()
        return [JobOut.of(i) for i in infos if state is None or i.state == state]

    @app.get("/api/jobs/{job_id}", response_model=JobOut)
    async def get_job(job_id: str, request: Request) -> JobOut:
        return JobOut.of((await manager_of(request).get(job_id)).info())

    @app.get("/api/jobs/{job_id}/logs", response_class=PlainTextResponse)
    async def logs(job_id: str, request: Request, tail_bytes: int = Query(LOG_TAIL_BYTES, ge=0)) -> str:
        """The CLI's stdout and stderr logs (the last `tail_bytes` of each)."""
        info = (await manager_of(request).get(job_id)).info()
        parts = []
        for name in ("stdout.log", "stderr.log"):
            path = info.log_dir / name if info.log_dir else None
            text = await asyncio.to_thread(read_tail, path, tail_bytes)
            parts.append(f"===== {name} =====\n{text}")
        return "\n".join(parts)

    @app.get("/api/jobs/{job_id}/events")
    async def events(
        job_id: str,
        request: Request,
        after: int = Query(0, ge=0, description="Resume after this event seq."),
        last_event_id: Optional[str] = Header(None),
    ) -> StreamingResponse:
        """Server-sent events: past events, then live ones until the job ends.
        Each event's `id` is its seq; `Last-Event-ID` (or `?after=`) resumes."""
        job = await manager_of(request).get(job_id)
        if last_event_id and last_event_id.strip().isdigit():
            after = max(after, int(last_event_id))
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        keepalive: float = request.app.state.settings.sse_keepalive
        return StreamingResponse(sse(job, after, keepalive), media_type="text/event-stream", headers=headers)

    @app.delete("/api/jobs/{job_id}", response_model=CancelOut)
    async def cancel(job_id: str, request: Request) -> CancelOut:
        job = await manager_of(request).get(job_id)
        cancelled = await job.cancel()
        return CancelOut(id=job.id, cancelled=cancelled, state=job.state)

    @app.get("/api/templates", response_model=list[TemplateOut])
    async def templates(request: Request) -> list[TemplateOut]:
        return manager_of(request).templates()

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics(request: Request) -> PlainTextResponse:
        """Prometheus metrics: jobs by state, queue length, durations, cost and tokens by template, …."""
        text = await manager_of(request).metrics()
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/health", response_model=HealthOut)
    async def health(request: Request) -> HealthOut:
        m = manager_of(request)
        healthy = bool(m.store_health()["healthy"])
        return HealthOut(
            status="ok" if healthy else "degraded",
            running=m.running,
            max_concurrent=m.max_concurrent,
            isolation=m.isolation,
            isolation_error=m.isolation_error,
            store=m.store_url,
            store_healthy=healthy,
        )


async def sse(job: claude_jobs.Job, after: int, keepalive: float) -> AsyncIterator[str]:
    """The job's events as SSE frames, with a keep-alive comment after each
    `keepalive` seconds without one (proxies close quiet connections)."""
    stream = job.events(after=after)
    pending: Optional[asyncio.Future[claude_jobs.JobEvent]] = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(stream.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=keepalive)
            if not done:
                yield ": keep-alive\n\n"
                continue
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield f"id: {event.seq}\ndata: {event.to_json()}\n\n"
    finally:
        if pending is not None:
            pending.cancel()


def read_tail(path: Optional[Path], max_bytes: int) -> str:
    """The last `max_bytes` of a file as text ('' if it does not exist)."""
    if path is None or not path.exists():
        return ""
    with path.open("rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - max_bytes))
        return f.read().decode("utf-8", errors="replace")


app = create_app()
