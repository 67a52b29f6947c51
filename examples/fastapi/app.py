"""The seed's job service on claude_jobs: submit Claude CLI jobs over HTTP,
each in its own cgroup, and follow them live.

Run: ``python app.py`` (``HOST``, ``PORT``; configuration: see settings.py);
``uvicorn app:app`` works too (its ``--host`` is not checked against the keys
file then). OpenAPI at /docs.

- auth.py         API keys (``CLAUDE_JOBS_API_KEYS_FILE``) → 401 or the request's tenant
- body_limit.py   413 for a body over 1 MiB
- access.py       the request's manager, tenant, and only the tenant's jobs
- jobs_api.py     /api/jobs…, /api/tenant
- schedules_api.py /api/schedules…
- http_errors.py  core errors → 422 / 403 / 429 / 404 / 503
- dashboard.py    the page at / and its endpoints
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal, Optional, cast

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

import claude_jobs
import dashboard
import jobs_api
import schedules_api
from access import manager_of
from auth import AuthMiddleware, KeysFileError, load_keys
from body_limit import BodyLimitMiddleware
from http_errors import add_error_handlers
from schemas import HealthOut, TemplateOut
from sse import FrameCache
from settings import Settings


def create_app(settings: Optional[Settings] = None) -> FastAPI:
    """The app; `settings` default to the environment. Raises `KeysFileError`
    for an unreadable or malformed keys file."""
    s = settings or Settings.from_env()
    keys = load_keys(s.api_keys_file) if s.api_keys_file else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Built here, not at import: each (forked) uvicorn/gunicorn worker gets its own.
        app.state.manager = await claude_jobs.JobManager.create(
            claude_bin=s.claude_bin,
            data_dir=s.data_dir,
            max_concurrent=s.max_concurrent,
            isolation=s.isolation,
            templates_dir=s.templates_dir,
            store_url=s.store_url,
            # The binding checks it (its stub says Literal["local", "db"]).
            artifact_store=cast(Literal["local", "db"], s.artifact_store),
            kill_grace=s.kill_grace,
            env=s.job_env,
            memory_budget=s.memory_budget,
            cpu_budget=s.cpu_budget,
            policy=s.policy,
            webhook_secret=s.webhook_secret,
        )
        yield
        await app.state.manager.shutdown(drain_timeout=30)

    app = FastAPI(title="claude-jobs service", version=claude_jobs.__version__, lifespan=lifespan)
    app.state.settings = s
    app.state.auth = keys is not None
    app.state.sse_frames = FrameCache()
    # The last added runs first: the key is checked before the body is read.
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(AuthMiddleware, keys=keys, metrics_public=s.metrics_public)
    add_error_handlers(app)
    app.include_router(jobs_api.router)
    app.include_router(schedules_api.router)
    add_service_routes(app)
    dashboard.install(app)  # the page at / and its endpoints (dashboard.py)
    return app


def add_service_routes(app: FastAPI) -> None:
    @app.get("/api/templates", response_model=list[TemplateOut])
    async def templates(request: Request) -> list[TemplateOut]:
        return [dict(t) for t in await manager_of(request).templates()]

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics(request: Request) -> PlainTextResponse:
        """Prometheus metrics: jobs by state, queue length, durations, cost and tokens by template, …."""
        text = await manager_of(request).metrics()
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/health", response_model=HealthOut)
    async def health(request: Request) -> HealthOut:
        s = await manager_of(request).status()
        healthy = s["store_health"]["healthy"]
        return HealthOut(
            status="ok" if healthy else "degraded",
            running=s["running"],
            queued=s["queued"],
            max_concurrent=s["max_concurrent"],
            isolation=s["isolation"],
            isolation_error=s["isolation_error"],
            store=s["store_url"],
            store_healthy=healthy,
        )


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen_refusal(settings: Settings) -> Optional[str]:
    """Why the service must not listen on `settings.host`, or None."""
    if settings.api_keys_file is None and not is_loopback(settings.host):
        return (
            f"refusing to listen on {settings.host} without CLAUDE_JOBS_API_KEYS_FILE: anyone who can reach it "
            "could run jobs; set CLAUDE_JOBS_API_KEYS_FILE (one tenant:sha256-of-key a line) or HOST=127.0.0.1"
        )
    return None


def main() -> None:
    """``python app.py``: the service on ``HOST``:``PORT``; exits non-zero,
    saying why, on bad settings, a bad keys file or a refused address."""
    import uvicorn

    try:
        settings = Settings.from_env()
        refusal = listen_refusal(settings)
        if refusal:
            sys.exit(f"claude-jobs service: {refusal}")
        service = create_app(settings)
    except (KeysFileError, ValueError) as e:
        sys.exit(f"claude-jobs service: {e}")
    uvicorn.run(service, host=settings.host, port=settings.port, timeout_graceful_shutdown=30)


if __name__ == "__main__":
    main()
else:
    app = create_app()
