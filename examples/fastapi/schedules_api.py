"""The schedule API: ``/api/schedules`` (list, create or replace, delete).
Each tick of a schedule submits one job of its spec, as the key's tenant,
labelled ``schedule=<name>``; the store runs it once across every service
sharing it. With API keys, a tenant sees and changes only its own schedules
(another tenant's is answered as an unknown one; its name is taken: 409)."""

from __future__ import annotations

from typing import Any, Optional, Union

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

import claude_jobs
from access import check_inputs, manager_of, tenant_of
from http_errors import invalid_field, schedule_field_loc
from schemas import ScheduleCreate, ScheduleFields, ScheduleListOut, ScheduleOut, ScheduleRequest

router = APIRouter()

ERRORS: dict[Union[int, str], dict[str, Any]] = {
    403: {"description": "The server's policy refuses a field of the spec (`field` names it)."},
    409: {"description": "Another tenant has a schedule of this name."},
    422: {"description": "A field is invalid (named in `loc`: cron, timezone, catch_up, name or spec.<field>)."},
}


def is_own(request: Request, schedule: claude_jobs.Schedule) -> bool:
    """Whether the request's tenant may see the schedule (every one without keys)."""
    tenant = tenant_of(request)
    return tenant is None or schedule["spec"].get("tenant") == tenant


async def find(request: Request, name: str) -> Optional[claude_jobs.Schedule]:
    for s in await manager_of(request).schedules():
        if s["name"] == name:
            return s
    return None


def not_found(name: str) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": f"schedule {name} not found"})


async def put_schedule(
    request: Request, name: str, body: ScheduleFields, name_loc: list[Union[str, int]]
) -> Union[ScheduleOut, JSONResponse]:
    """Creates or replaces the schedule; the core checks every field."""
    tenant = tenant_of(request)
    if tenant is not None:
        existing = await find(request, name)
        if existing is not None and not is_own(request, existing):
            return JSONResponse(status_code=409, content={"detail": f"the schedule name {name} is taken", "code": "CONFLICT"})
    spec: dict[str, Any] = body.spec.model_dump(exclude_none=True)
    if tenant is not None:
        spec["tenant"] = tenant
    try:
        await check_inputs(request, body.spec.inputs)
        made = await manager_of(request).schedule(name, body.cron, timezone=body.timezone, catch_up=body.catch_up, **spec)
    except (claude_jobs.InvalidSpecError, claude_jobs.TemplateError, claude_jobs.CapacityExceededError) as exc:
        return invalid_field(schedule_field_loc(exc.field, name_loc), str(exc), (exc.code or "invalid").lower())
    return ScheduleOut.model_validate(made)


@router.get("/api/schedules", response_model=ScheduleListOut)
async def list_schedules(request: Request) -> ScheduleListOut:
    """The tenant's schedules, by name."""
    mine = [s for s in await manager_of(request).schedules() if is_own(request, s)]
    return ScheduleListOut(schedules=[ScheduleOut.model_validate(s) for s in mine])


@router.put("/api/schedules/{name}", response_model=ScheduleOut, responses=ERRORS)
async def replace_schedule(name: str, body: ScheduleRequest, request: Request) -> Union[ScheduleOut, JSONResponse]:
    """Creates the schedule or replaces the one of this name (it starts from now: no catch-up of earlier ticks)."""
    return await put_schedule(request, name, body, ["path", "name"])


@router.post("/api/schedules", status_code=201, response_model=ScheduleOut, responses=ERRORS)
async def create_schedule(body: ScheduleCreate, request: Request) -> Union[ScheduleOut, JSONResponse]:
    """The same as PUT, the name in the body."""
    return await put_schedule(request, body.name, body, ["body", "name"])


@router.delete("/api/schedules/{name}", status_code=204, response_class=Response, responses={404: {"description": "No such schedule."}})
async def delete_schedule(name: str, request: Request) -> Response:
    """Removes the schedule (the jobs it submitted stay)."""
    if tenant_of(request) is not None:
        existing = await find(request, name)
        if existing is None or not is_own(request, existing):
            return not_found(name)
    if not await manager_of(request).unschedule(name):
        return not_found(name)
    return Response(status_code=204)
