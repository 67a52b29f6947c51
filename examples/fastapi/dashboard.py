"""The dashboard: a web page at ``/`` for watching and starting jobs, and the
few endpoints it needs besides the job API of app.py.

- ``GET /`` and ``GET /jobs/{id}``: the page (``dashboard/dist``, built by
  ``make dashboard-build``); a clear message instead when it is not built.
- ``POST /api/workflows``: brand-data → brief → draft in one call.
- ``GET /api/dashboard/jobs``: the job list with each job's variables, plus totals.
- ``GET /api/jobs/{id}/outputs/{name}``: the content of one of the job's output files.

``install(app)`` adds all of it (app.py's ``create_app`` calls it).

``python dashboard.py [--host H] [--port N]`` runs the service with the dashboard
(what ``make dashboard`` does): with ``ANTHROPIC_API_KEY`` set, jobs use the real
API; otherwise it starts the bundled mock API (``target/debug/mock-anthropic``)
on 127.0.0.1 and gives every job its address, and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import html
import os
import signal
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional, Union

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, StringConstraints

import claude_jobs

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


def install(app: FastAPI) -> None:
    """Adds the dashboard's endpoints and static files to `app` (after its API routes)."""
    app.include_router(router)
    app.mount("/assets", StaticFiles(directory=DIST / "assets", check_dir=False), name="dashboard-assets")


def manager_of(request: Request) -> claude_jobs.JobManager:
    m: claude_jobs.JobManager = request.app.state.manager
    return m


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
    declared = {t["name"]: set(t["variables"]) for t in manager.templates()}
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
    """Every job (newest first) with its variables, and the totals the page shows:
    running, queued, the concurrency limit and the cost of the jobs finished today."""
    manager = manager_of(request)
    infos = await manager.list()
    if since_ms is None:
        since_ms = int(datetime.now().replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)
    newest = sorted(infos, key=lambda i: i.created_at, reverse=True)[:limit]
    cost_today = sum(i.cost_usd or 0.0 for i in infos if (i.finished_at or i.created_at) >= since_ms)
    return {
        "jobs": [await enriched(request, i) for i in newest],
        "totals": {
            "jobs": len(infos),
            "running": sum(1 for i in infos if i.state == "running"),
            "queued": sum(1 for i in infos if i.state == "queued"),
            "max_concurrent": manager.max_concurrent,
            "isolation": manager.isolation,
            "cost_today_usd": round(cost_today, 6),
            "since_ms": since_ms,
        },
    }


@router.get("/api/dashboard/jobs/{job_id}")
async def dashboard_job(job_id: str, request: Request) -> dict[str, Any]:
    """One job as in the list: GET /api/jobs/{id} plus variables, inputs, prompt preview."""
    return await enriched(request, (await manager_of(request).get(job_id)).info())


# ---------------------------------------------------------------- output files


@router.get("/api/jobs/{job_id}/outputs/{name}", response_class=FileResponse, responses={404: {"description": "Not one of the job's outputs."}})
async def output_file(job_id: str, name: str, request: Request) -> Response:
    """The content of one of the job's output files, by file name. Only the
    files listed in the job's `outputs` are served: the name is looked up in
    that list, never joined to a path."""
    info = (await manager_of(request).get(job_id)).info()
    for path in info.outputs:
        if path.name == name and path.is_file():
            media = "text/markdown" if path.suffix in (".md", ".markdown") else "text/plain"
            return FileResponse(
                path,
                media_type=f"{media}; charset=utf-8",
                headers={"X-Content-Type-Options": "nosniff", "Content-Disposition": "inline"},
            )
    return JSONResponse(status_code=404, content={"detail": f"job {job_id} has no output file named {name!r}"})


# ---------------------------------------------------------------- `make dashboard`

MOCK_ENV_KEY = "offline-mock-key"


def die_with_parent() -> None:
    """In the mock's child process: SIGTERM when this service dies, however it
    dies (uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, so no
    `finally` of ours runs then)."""
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def start_mock(binary: Path, scenario: str) -> tuple[subprocess.Popen[str], str]:
    """Starts mock-anthropic on a free loopback port; returns it and its URL."""
    if not binary.exists():
        sys.exit(f"{binary} is missing: run `cargo build -p mock-anthropic` (make dashboard does)")
    env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "mock_anthropic=warn")}
    proc = subprocess.Popen(
        [str(binary), "--port", "0", "--scenario", scenario],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
        preexec_fn=die_with_parent,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    prefix = "listening on "
    if not line.startswith(prefix):
        proc.kill()
        sys.exit(f"mock-anthropic did not start (it printed {line!r})")
    return proc, line[len(prefix) :]


def main(argv: Optional[list[str]] = None) -> None:
    import uvicorn

    from app import create_app
    from settings import Settings

    p = argparse.ArgumentParser(description="The claude-jobs service with its dashboard.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port (printed)")
    p.add_argument(
        "--api",
        choices=["auto", "mock", "real"],
        default="auto",
        help="auto: the real API when ANTHROPIC_API_KEY is set, else the bundled mock",
    )
    p.add_argument("--mock-bin", type=Path, default=Path(os.environ.get("MOCK_ANTHROPIC_BIN", str(ROOT / "target" / "debug" / "mock-anthropic"))))
    p.add_argument("--mock-scenario", default="write", help="the mock's default scenario (a prompt's `mock-scenario:` line wins)")
    args = p.parse_args(argv)

    settings = Settings.from_env()
    mock: Optional[subprocess.Popen[str]] = None
    has_key = bool(os.environ.get("ANTHROPIC_API_KEY"))
    use_mock = args.api == "mock" or (args.api == "auto" and not has_key)
    if args.api == "real" and not has_key:
        sys.exit("--api real needs ANTHROPIC_API_KEY")
    if use_mock:
        mock, url = start_mock(args.mock_bin, args.mock_scenario)
        settings = dataclasses.replace(
            settings,
            job_env={
                **settings.job_env,
                "ANTHROPIC_BASE_URL": url,
                "ANTHROPIC_API_KEY": MOCK_ENV_KEY,
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                "DISABLE_AUTOUPDATER": "1",
            },
        )
        why = "ANTHROPIC_API_KEY is not set" if not has_key else "--api mock"
        api_line = (
            f"API: the offline mock at {url} (scenario {args.mock_scenario}; {why}): "
            "outputs are sample text, no model is called"
        )
    else:
        api_line = "API: the real Anthropic API (ANTHROPIC_API_KEY is set): jobs cost money"

    config = uvicorn.Config(create_app(settings), host=args.host, port=args.port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)

    async def serve() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:
            port = server.servers[0].sockets[0].getsockname()[1]
            print(api_line, flush=True)
            print(f"CLI: {settings.claude_bin}; data: {settings.data_dir}", flush=True)
            print(f"claude-jobs dashboard: http://{args.host}:{port}/", flush=True)
        await task

    try:
        asyncio.run(serve())
    finally:
        if mock is not None:
            mock.terminate()
            try:
                mock.wait(5)
            except subprocess.TimeoutExpired:
                mock.kill()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
