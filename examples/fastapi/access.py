"""What a request may see: its manager, its tenant (set by auth.py), and a
job only when it is the tenant's own (another tenant's is "not found",
answered exactly as an unknown id)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

from fastapi import Request

import claude_jobs
from auth import TENANT_SCOPE_KEY


def manager_of(request: Request) -> claude_jobs.JobManager:
    m: claude_jobs.JobManager = request.app.state.manager
    return m


def tenant_of(request: Request) -> Optional[str]:
    """The tenant of the request's key; None without a keys file."""
    tenant: Optional[str] = request.scope.get(TENANT_SCOPE_KEY)
    return tenant


def not_found(job_id: str) -> claude_jobs.JobNotFoundError:
    """The error of an unknown id (the core's words), for another tenant's job."""
    return claude_jobs.JobNotFoundError(f"job {job_id} not found", code="JOB_NOT_FOUND", job_id=job_id)


async def job_of(request: Request, job_id: str) -> claude_jobs.Job:
    """The job, if the request's tenant may see it. Raises `JobNotFoundError`
    (404) for an unknown id and for another tenant's job alike."""
    job = await manager_of(request).get(job_id)
    tenant = tenant_of(request)
    if tenant is not None and job.info().tenant != tenant:
        raise not_found(job_id)
    return job


async def check_inputs(request: Request, inputs: Mapping[str, str]) -> None:
    """A job's ``inputs`` (variable → job id) may name only the tenant's own jobs:
    another tenant's is refused as the core refuses an unknown one (its output
    would become this tenant's prompt). Raises `InvalidSpecError` naming ``inputs``."""
    for job_id in inputs.values():
        try:
            await job_of(request, job_id)
        except claude_jobs.JobNotFoundError:
            raise claude_jobs.InvalidSpecError(
                f"invalid inputs: unknown job {job_id}", code="INVALID_SPEC", field="inputs"
            ) from None
