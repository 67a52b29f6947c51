"""The service's errors as HTTP answers (the shared contract): invalid fields
422 naming the field (FastAPI's shape), policy violations 403, quotas 429
with Retry-After, unknown (or another tenant's) jobs 404, shutting down 503."""

from __future__ import annotations

import math
from typing import Optional, Union

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

import claude_jobs
from schemas import JobRequest

def invalid_field(loc: list[Union[str, int]], msg: str, kind: str) -> JSONResponse:
    """FastAPI's 422 shape."""
    return JSONResponse(status_code=422, content={"detail": [{"loc": loc, "msg": msg, "type": kind}]})


def field_loc(field: Optional[str]) -> list[Union[str, int]]:
    """Where a spec field is in a job request: a body field, or a template variable."""
    if not field:
        return ["body"]
    top = field.split(".")[0]
    return ["body", *field.split(".")] if top in JobRequest.model_fields else ["body", "variables", field]


#: The fields of a schedule request besides its job's (``spec``).
SCHEDULE_FIELDS = ("cron", "timezone", "catch_up")


def schedule_field_loc(field: Optional[str], name_loc: list[Union[str, int]]) -> list[Union[str, int]]:
    """Where a field the core names is in a schedule request: the name (path or body),
    ``cron``/``timezone``/``catch_up``, or a field of its ``spec``."""
    if field == "name":
        return name_loc
    if field in SCHEDULE_FIELDS:
        return ["body", field]
    return ["body", "spec", *field_loc(field)[1:]]


def policy_violation(exc: claude_jobs.PolicyViolationError) -> JSONResponse:
    body = {"detail": str(exc), "code": "POLICY_VIOLATION", "field": exc.field}
    return JSONResponse(status_code=403, content=body)


def quota_exceeded(exc: claude_jobs.QuotaExceededError) -> JSONResponse:
    """429; ``Retry-After`` (whole seconds, rounded up, at least 1) when the core
    says when to try again (a full queue: its hint; a spent budget: 00:00 UTC)."""
    after = exc.retry_after
    headers = {"Retry-After": str(max(1, math.ceil(after)))} if after is not None else None
    body = {"detail": str(exc), "code": "QUOTA_EXCEEDED", "tenant": exc.tenant}
    return JSONResponse(status_code=429, content=body, headers=headers)


def add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(claude_jobs.InvalidSpecError)
    @app.exception_handler(claude_jobs.TemplateError)
    @app.exception_handler(claude_jobs.CapacityExceededError)
    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, claude_jobs.ClaudeJobsError)
        return invalid_field(field_loc(exc.field), str(exc), (exc.code or "invalid").lower())

    @app.exception_handler(claude_jobs.PolicyViolationError)
    async def policy(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, claude_jobs.PolicyViolationError)
        return policy_violation(exc)

    @app.exception_handler(claude_jobs.QuotaExceededError)
    async def quota(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, claude_jobs.QuotaExceededError)
        return quota_exceeded(exc)

    @app.exception_handler(claude_jobs.JobNotFoundError)
    async def not_found(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(claude_jobs.ClaudeJobsError)
    async def other(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, claude_jobs.ClaudeJobsError)
        status = 503 if isinstance(exc, claude_jobs.ShuttingDownError) else 500
        return JSONResponse(status_code=status, content={"detail": str(exc), "code": exc.code})
