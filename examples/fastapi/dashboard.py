"""The dashboard: a web page at ``/`` for watching and starting jobs, and the
few endpoints it needs besides the job API of app.py.

- ``GET /`` and ``GET /jobs/{id}``: the page (``dashboard/dist``, built by
  ``make dashboard-build``); a clear message instead when it is not built.
- ``POST /api/workflows``: brand-data → brief → draft in one call.
- ``GET /api/dashboard/jobs``: the job list with each job's variables, plus totals.
- ``GET /api/jobs/{id}/outputs/{name}``: the content of one of the job's output files
  (``GET /api/jobs/{id}/outputs``, their list, is in jobs_api.py).

``install(app)`` adds all of it (app.py's ``create_app`` calls it).

Every endpoint but the page is behind the API key (auth.py) and shows only
the key's tenant's jobs (access.py); the page asks for the key itself.

``python dashboard.py [--host H] [--port N]`` runs the service with the dashboard
(what ``make dashboard`` does; see dashboard_cli.py).
"""

from __future__ import annotations

import html
import os
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional, Union

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, StringConstraints
from starlette.types import Scope

import claude_jobs
from access import job_of, manager_of, tenant_of

#: The repository root (examples/fastapi/dashboard.py → ../..).
ROOT = Path(__file__).resolve().parents[2]
#: The built page; ``CLAUDE_JOBS_DASHBOARD_DIST`` overrides.
DIST = Path(os.environ.get("CLAUDE_JOBS_DASHBOARD_DIST", str(ROOT / "dashboard" / "dist")))
#: The workflow's steps: (step name, template, the variable that takes the previous step's output).
WORKFLOW_STEPS: list[tuple[str, str, Optional[str]]] = [
    ("research", "brand-data", None),
    ("brief", "brief", "research"),
    ("draft", "draft", "brief"),
]
#: Longest variable value the job list carries (the research fed to a brief can be long).
VARIABLE_PREVIEW_CHARS = 160

router = APIRouter()


class Assets(StaticFiles):
    """The page's static files; 404 (not a 500) while the dashboard is not built."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if self.directory is None or not Path(self.directory).is_dir():
            return JSONResponse(status_code=404, content={"detail": "not found (the dashboard is not built)"})
        return await super().get_response(path, scope)

    async def check_config(self) -> None:
        """Checked per request instead (the page may be built after the start)."""


def install(app: FastAPI) -> None:
    """Adds the dashboard's endpoints and static files to `app` (after its API routes)."""
    app.include_router(router)
    app.mount("/assets", Assets(directory=DIST / "assets", check_dir=False), name="dashboard-assets")


# ---------------------------------------------------------------- the page


NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>claude-jobs: dashboard not built</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:4rem auto;padding:0 1rem;color:#1f2933}}
code,pre{{background:#f1f3f5;padding:.1rem .3rem;border-radius:4px}}pre{{padding:.8rem}}</style></head>
<body><h1>The dashboard is not built</h1>
<p>The service is running (the API is at <a href="/docs">/docs</a>), but the dashboard's page
is missing: <code>{dist}</code> has no <code>index.html</code>.</p>
<p>Build it once (needs Node.js and npm; serving it does not):</p>
<pre>make dashboard-build</pre>
<p>or <code>cd dashboard &amp;&amp; npm ci &amp;&amp; npm run build</code>, then reload this page.
<code>make dashboard</code> builds it and starts the service.</p>
</body></html>
"""


def page() -> Response:
    index = DIST / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT.format(dist=html.escape(str(DIST))), status_code=503)
    return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache"})


@router.get("/", include_in_schema=False)
async def index() -> Response:
    return page()


@router.get("/jobs/{job_id}", include_in_schema=False)
async def job_page(job_id: str) -> Response:
    """A job's page (the same single-page app; it reads the id from the address)."""
    return page()


# ---------------------------------------------------------------- workflows


Brand = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class WorkflowLimits(BaseModel):
    """Caps for every step; unset ones keep each template's defaults."""

    cpus: Optional[float] = Field(None, description="CPU cap in cores for each step.", examples=[0.8])
    memory: Optional[Union[int, str]] = Field(None, description='Memory cap for each step: bytes or "800M".', examples=["800M"])
    pids: Optional[int] = Field(None, description="Process cap for each step.")
    timeout: Optional[float] = Field(None, description="Wall-clock limit of each step, in seconds.", examples=[600])


class WorkflowRequest(WorkflowLimits):
    """``POST /api/workflows``: research a brand, brief, draft."""

    brand: Brand = Field(description="The brand's name.", examples=["Acme Coffee"])
    website: Optional[str] = Field(None, description="The brand's website (brand-data's `website`).")
    objective: Optional[str] = Field(None, description="What the campaign should achieve (brief's `objective`).")
    variables: dict[str, str] = Field(
        default_factory=dict,
        description="More variables of the steps' templates (website, focus, objective, channel, length); "
        "each step gets those its template declares.",
    )
    limits: Optional[WorkflowLimits] = Field(None, description="Caps for every step (the same as the top-level fields).")
    labels: dict[str, str] = Field(default_factory=dict)


class WorkflowOut(BaseModel):
    workflow: str = Field(description="The workflow's id (the `workflow` label of its jobs).")
    brand: str
    job_ids: list[str] = Field(description="research, brief, draft: in that order.")
    jobs: dict[str, str] = Field(description="Step name → job id.")


def invalid(loc: list[Union[str, int]], msg: str, kind: str) -> JSONResponse:
    """FastAPI's 422 shape, as app.py answers for POST /api/jobs."""
    return JSONResponse(status_code=422, content={"detail": [{"loc": loc, "msg": msg, "type": kind}]})


@router.post("/api/workflows", status_code=201, response_model=WorkflowOut, responses={422: {"description": "A field is invalid (named in `loc`)."}})
async def submit_workflow(body: WorkflowRequest, request: Request) -> Union[WorkflowOut, JSONResponse]:
    """Submits brand-data → brief (its `research` is the first job's output) →
    draft (its `brief` is the second's), and returns the three job ids. A step
    that fails or is cancelled cancels the ones after it."""
    manager = manager_of(request)
    declared = {t["name"]: set(t["variables"]) for t in await manager.templates()}
    given = dict(body.variables)
    for name in ("website", "objective"):
        value = getattr(body, name)
        if value is not None:
            given[name] = value
    given["brand"] = body.brand
    fed = {v for _, _, v in WORKFLOW_STEPS if v}
    for name in given:
        if name in fed or not any(name in declared.get(t, set()) for _, t, _ in WORKFLOW_STEPS):
            where = [name] if name in ("website", "objective", "brand") and name not in body.variables else ["variables", name]
            why = "is filled from the previous step" if name in fed else "is not a variable of brand-data, brief or draft"
            return invalid(["body", *where], f"{name} {why}", "workflow_variable")

    caps = body.limits.model_dump(exclude_none=True) if body.limits else {}
    caps_in_limits = set(caps)
    caps.update(body.model_dump(include={"cpus", "memory", "pids", "timeout"}, exclude_none=True))
    workflow = uuid.uuid4().hex[:12]
    submitted: list[claude_jobs.Job] = []
    previous: Optional[claude_jobs.Job] = None
    try:
        for step, template, input_var in WORKFLOW_STEPS:
            variables = {k: v for k, v in given.items() if k in declared.get(template, set())}
            previous = await manager.submit(
                tenant=tenant_of(request),
                template=template,
                variables=variables,
                inputs={input_var: previous} if input_var and previous else None,
                labels={**body.labels, "workflow": workflow, "brand": body.brand, "step": step},
                **caps,
            )
            submitted.append(previous)
    except claude_jobs.ClaudeJobsError as exc:
        for job in submitted:  # all or nothing
            await job.cancel()
        if not isinstance(exc, (claude_jobs.InvalidSpecError, claude_jobs.TemplateError, claude_jobs.CapacityExceededError)):
            raise
        field = exc.field or ""
        if field in caps:
            loc: list[Union[str, int]] = ["body", "limits", field] if field in caps_in_limits and field not in body.model_fields_set else ["body", field]
        elif field == "brand" or (field in ("website", "objective") and field not in body.variables):
            loc = ["body", field]
        elif field:
            loc = ["body", "variables", field]
        else:
            loc = ["body"]
        return invalid(loc, str(exc), (exc.code or "invalid").lower())
    ids = [j.id for j in submitted]
    return WorkflowOut(
        workflow=workflow,
        brand=body.brand,
        job_ids=ids,
        jobs={step: job_id for (step, _, _), job_id in zip(WORKFLOW_STEPS, ids)},
    )


# ---------------------------------------------------------------- job list with totals


def preview(value: Any) -> str:
    text = str(value)
    return text if len(text) <= VARIABLE_PREVIEW_CHARS else text[: VARIABLE_PREVIEW_CHARS - 1] + "…"


def spec_summary(spec: dict[str, Any]) -> dict[str, Any]:
    """What the list shows of a job's spec: variables (shortened), inputs, a prompt's first line."""
    prompt = str(spec.get("prompt") or "")
    first_line = next((ln.strip() for ln in prompt.splitlines() if ln.strip()), "")
    return {
        "variables": {k: preview(v) for k, v in (spec.get("variables") or {}).items()},
        "inputs": {k: str(v) for k, v in (spec.get("inputs") or {}).items()},
        "depends_on": [str(d) for d in (spec.get("depends_on") or [])],
        "prompt_preview": "" if spec.get("template") else preview(first_line),
    }


async def enriched(request: Request, info: claude_jobs.JobInfo) -> dict[str, Any]:
    """The job's snapshot (as GET /api/jobs/{id}) plus what the page shows of its spec."""
    # A job's spec never changes: read it once.
    cache: Optional[dict[str, dict[str, Any]]] = getattr(request.app.state, "dashboard_specs", None)
    if cache is None:
        cache = request.app.state.dashboard_specs = {}
    summary = cache.get(info.id)
    if summary is None:
        try:
            summary = spec_summary((await manager_of(request).get(info.id)).spec())
        except claude_jobs.JobNotFoundError:
            summary = spec_summary({})
        cache[info.id] = summary
    return {**info.to_dict(), **summary, "duration_ms": info.duration_ms}


@router.get("/api/dashboard/jobs")
async def dashboard_jobs(
    request: Request,
    since_ms: Optional[int] = Query(None, description="Start of 'today' (Unix ms) for cost_today_usd; default: the server's local midnight."),
    limit: int = Query(200, ge=1, le=5000, description="At most this many jobs, newest first."),
) -> dict[str, Any]:
    """The newest jobs with their variables, and the totals the page shows:
    running, queued, the concurrency limit and the cost of the jobs finished today."""
    manager = manager_of(request)
    if since_ms is None:
        since_ms = int(datetime.now().replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)
    infos = await every_job(manager, tenant_of(request))  # newest first: the store's pages, in order
    status = await manager.status()
    cost_today = sum(i.cost_usd or 0.0 for i in infos if (i.finished_at or i.created_at) >= since_ms)
    return {
        "jobs": [await enriched(request, i) for i in infos[:limit]],
        "totals": {
            "jobs": len(infos),
            "running": sum(1 for i in infos if i.state == "running"),
            "queued": sum(1 for i in infos if i.state == "queued"),
            "max_concurrent": status["max_concurrent"],
            "isolation": status["isolation"],
            "cost_today_usd": round(cost_today, 6),
            "since_ms": since_ms,
        },
    }


async def every_job(manager: claude_jobs.JobManager, tenant: Optional[str]) -> list[claude_jobs.JobInfo]:
    """Every job of the tenant (every job without keys) in the store, newest first, page after page."""
    out: list[claude_jobs.JobInfo] = []
    cursor: Optional[str] = None
    while True:
        page = await manager.list(limit=1000, cursor=cursor, tenant=tenant)
        out.extend(page.jobs)
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


@router.get("/api/dashboard/jobs/{job_id}")
async def dashboard_job(job_id: str, request: Request) -> dict[str, Any]:
    """One job as in the list: GET /api/jobs/{id} plus variables, inputs, prompt preview."""
    return await enriched(request, (await job_of(request, job_id)).info())


# ---------------------------------------------------------------- output files


OUTPUT_MEDIA_TYPES = ("text/markdown; charset=utf-8", "text/plain; charset=utf-8")


@router.get(
    "/api/jobs/{job_id}/outputs/{name}",
    response_class=Response,
    responses={
        200: {"content": {t: {} for t in OUTPUT_MEDIA_TYPES}, "description": "The file's bytes."},
        404: {"description": "Not one of the job's outputs."},
    },
)
async def output_file(job_id: str, name: str, request: Request) -> Response:
    """The content of one of the job's output files, by file name (one of
    `GET /api/jobs/{id}/outputs`), wherever the job ran when the artifact store
    is the job store. The name is looked up among the job's outputs, never
    joined to a path."""
    await job_of(request, job_id)  # 404 for an unknown job or another tenant's
    data = await manager_of(request).read_output(job_id, name)
    if data is None:
        return JSONResponse(status_code=404, content={"detail": f"job {job_id} has no output file named {name!r}"})
    media = OUTPUT_MEDIA_TYPES[0] if Path(name).suffix in (".md", ".markdown") else OUTPUT_MEDIA_TYPES[1]
    return Response(
        content=data,
        media_type=media,
        headers={"X-Content-Type-Options": "nosniff", "Content-Disposition": "inline"},
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from dashboard_cli import main

    main()
