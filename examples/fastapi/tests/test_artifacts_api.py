"""Two services ("machines": two data dirs) on one store (a SQLite file, and
PostgreSQL when ``make test-python`` gives one) with
``CLAUDE_JOBS_ARTIFACT_STORE=db``: B serves the logs (live, then byte for byte)
and the outputs (listed with size and SHA-256, then their bytes) of a job A
ran; a workflow's second step runs on B, A stopped, and reads the first step's
output through the store. With the default ``local`` store B has none of it."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Callable, Optional

import httpx
import pytest

import claude_jobs
from app import create_app
from app_helpers import ROOT, auth, wait_final
from settings import Settings

#: A template whose prompt is its `prev` variable (the fake CLI echoes it), with an output.
ECHO_INPUT = """---
name: echo-input
description: The previous step's output.
variables:
  prev:
    required: true
    description: The output.
output:
  file: step.md
  folder: steps
---
{{ prev }}
"""

#: Step 1 of the brand workflow (brand-data), capped below the memory budget of any test host.
RESEARCH = {"template": "brand-data", "variables": {"brand": "ACME"}, "memory": "256M"}

MachineSettings = Callable[..., Settings]


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store the machines share: one SQLite file, or the PostgreSQL database
    `make test-python` starts (``CLAUDE_JOBS_TEST_PG_URL``; skipped, saying so, without it)."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'shared.db'}"
    if not os.environ.get("CLAUDE_JOBS_TEST_PG_URL"):
        pytest.skip("CLAUDE_JOBS_TEST_PG_URL is not set (make test-python starts PostgreSQL and sets it)")
    # A database of this test's own: no other test's manager claims its jobs.
    script = ROOT / "scripts" / "postgres.sh"
    name = f"claude_jobs_t{os.getpid()}_{time.monotonic_ns()}"
    made = subprocess.run([str(script), "fresh", name], capture_output=True, text=True, check=True)
    return made.stdout.strip().splitlines()[-1]


@pytest.fixture
def machine_settings(settings: Settings, tmp_path: Path, store_url: str) -> MachineSettings:
    """Settings of a machine named `name`: its own data dir, the shared store and templates."""
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "echo-input.md").write_text(ECHO_INPUT)

    def make(name: str, artifact_store: str = "db", **more: Any) -> Settings:
        return dataclasses.replace(
            settings,
            data_dir=tmp_path / name,
            store_url=store_url,
            templates_dir=templates,
            artifact_store=artifact_store,
            **more,
        )

    return make


@asynccontextmanager
async def serve(s: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app of these settings, started (and stopped at the end), and a client of it."""
    app = create_app(s)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            yield c


def stdout_of(logs: str) -> str:
    """The stdout section of a /logs answer."""
    head, _, _ = logs.partition("\n===== stderr.log =====\n")
    assert head.startswith("===== stdout.log =====\n"), logs[:200]
    return head.removeprefix("===== stdout.log =====\n")


async def submit(client: httpx.AsyncClient, body: dict[str, Any], headers: Optional[dict[str, str]] = None) -> str:
    r = await client.post("/api/jobs", json=body, headers=headers)
    assert r.status_code == 201, r.text
    job_id: str = r.json()["id"]
    return job_id


@pytest.mark.asyncio
async def test_the_other_machine_serves_logs_live_and_outputs(
    machine_settings: MachineSettings, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    # 12 s of progress lines every 50 ms on A; the log reaches the store every 2 s.
    slow_env = {**settings.job_env, "FAKE_CLAUDE_SECONDS": "12", "FAKE_CLAUDE_INTERVAL_MS": "50"}
    async with serve(machine_settings("a", job_env=slow_env)) as a:
        job_id = await submit(a, {"prompt": "wait\nfake-scenario: slow"})
        deadline = time.monotonic() + 10
        while (await a.get(f"/api/jobs/{job_id}")).json()["state"] != "running":
            assert time.monotonic() < deadline, "the job never ran"
            await asyncio.sleep(0.05)

        # B is configured from the environment, as a deployed service is (the store's kind from a file).
        secret = tmp_path / "artifact-store"
        secret.write_text("db\n")
        for name, value in {
            "CLAUDE_BIN": settings.claude_bin,
            "CLAUDE_JOBS_DATA_DIR": str(tmp_path / "b"),
            "CLAUDE_JOBS_STORE": store_url,
            "CLAUDE_JOBS_ARTIFACT_STORE": "",  # restored by monkeypatch once the _FILE sets it
            "CLAUDE_JOBS_ARTIFACT_STORE_FILE": str(secret),
        }.items():
            monkeypatch.setenv(name, value)
        b_settings = Settings.from_env()
        assert b_settings.artifact_store == "db"
        async with serve(b_settings) as b:
            live: list[int] = []
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not (len(live) >= 2 and live[-1] > live[0]):
                seen = stdout_of((await b.get(f"/api/jobs/{job_id}/logs")).text)
                if seen and (await b.get(f"/api/jobs/{job_id}")).json()["state"] == "running":
                    live.append(len(seen))
                await asyncio.sleep(0.3)
            assert len(live) >= 2 and live[-1] > live[0], f"B follows A's log while it runs: sizes {live}"

            done = await wait_final(a, job_id, {})
            assert done["state"] == "succeeded", done
            log_dir = Path(done["log_dir"])
            assert log_dir.is_relative_to((tmp_path / "a").resolve()), log_dir
            stdout, stderr = ((log_dir / n).read_bytes().decode("utf-8", errors="replace") for n in ("stdout.log", "stderr.log"))
            assert len(stdout) > 10_000
            from_b = await b.get(f"/api/jobs/{job_id}/logs")
            assert from_b.status_code == 200 and from_b.headers["content-type"].startswith("text/plain")
            assert from_b.text == f"===== stdout.log =====\n{stdout}\n===== stderr.log =====\n{stderr}"
            assert from_b.text == (await a.get(f"/api/jobs/{job_id}/logs")).text
            tail = (await b.get(f"/api/jobs/{job_id}/logs", params={"tail_bytes": 100})).text
            assert stdout_of(tail) == stdout[-100:]

            # An output collected by A: listed by B with its size and checksum, its bytes served.
            out_id = await submit(a, RESEARCH)
            out = await wait_final(a, out_id, {})
            assert out["state"] == "succeeded" and len(out["outputs"]) == 1, out
            path = Path(out["outputs"][0])
            data = path.read_bytes()
            listed = await b.get(f"/api/jobs/{out_id}/outputs")
            assert listed.status_code == 200, listed.text
            assert listed.json() == {"outputs": [{"name": path.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}]}
            got = await b.get(f"/api/jobs/{out_id}/outputs/{path.name}")
            assert got.status_code == 200 and got.content == data
            assert got.headers["content-type"] == "text/markdown; charset=utf-8"
            assert got.headers["x-content-type-options"] == "nosniff"
            missing = await b.get(f"/api/jobs/{out_id}/outputs/other.md")
            assert missing.status_code == 404 and "other.md" in missing.json()["detail"]
            assert (await b.get(f"/api/jobs/{job_id}/outputs")).json() == {"outputs": []}
            assert (await b.get("/api/jobs/no-such-job/outputs")).status_code == 404


@pytest.mark.asyncio
async def test_a_workflow_step_on_b_reads_the_output_of_a_step_a_ran(machine_settings: MachineSettings, tmp_path: Path) -> None:
    async with serve(machine_settings("a")) as a:
        one = await wait_final(a, await submit(a, RESEARCH), {})
    assert one["state"] == "succeeded", one
    research = Path(one["outputs"][0]).read_text()
    assert research.startswith("echo: "), research
    # A is stopped, and its outputs gone: B reads the store only.
    shutil.rmtree(Path(one["outputs"][0]).parent)

    async with serve(machine_settings("b")) as b:
        r = await b.post("/api/jobs", json={"template": "echo-input", "inputs": {"prev": one["id"]}, "memory": "256M"})
        assert r.status_code == 201, r.text
        two = await wait_final(b, r.json()["id"], {})
        assert two["state"] == "succeeded", two
        assert Path(two["log_dir"]).is_relative_to((tmp_path / "b").resolve()), "B ran it"
        # The fake CLI echoes the prompt: step 1's output (its first 200 characters).
        assert two["result"] == "echo: " + research.rstrip()[:200], (two["result"], research)
        listed = (await b.get(f"/api/jobs/{two['id']}/outputs")).json()["outputs"]
        assert [f["name"] for f in listed] == ["step.md"], listed
        step = (await b.get(f"/api/jobs/{two['id']}/outputs/step.md")).text
        assert research.rstrip()[:150] in step
        assert (await b.get(f"/api/jobs/{one['id']}/outputs/{Path(one['outputs'][0]).name}")).text == research


@pytest.mark.asyncio
async def test_with_the_local_store_b_has_none_of_a_jobs_artifacts(machine_settings: MachineSettings, tmp_path: Path) -> None:
    async with serve(machine_settings("a", artifact_store="local")) as a:
        one = await wait_final(a, await submit(a, RESEARCH), {})
        assert one["state"] == "succeeded", one
        assert len((await a.get(f"/api/jobs/{one['id']}/outputs")).json()["outputs"]) == 1
        assert "echo: " in stdout_of((await a.get(f"/api/jobs/{one['id']}/logs")).text)
    # Another machine does not see A's disk.
    shutil.rmtree(tmp_path / "a")
    async with serve(machine_settings("b", artifact_store="local")) as b:
        assert (await b.get(f"/api/jobs/{one['id']}")).json()["state"] == "succeeded"
        r = await b.get(f"/api/jobs/{one['id']}/outputs")
        assert r.status_code == 200 and r.json() == {"outputs": []}
        assert (await b.get(f"/api/jobs/{one['id']}/outputs/{Path(one['outputs'][0]).name}")).status_code == 404
        assert (await b.get(f"/api/jobs/{one['id']}/logs")).text == "===== stdout.log =====\n\n===== stderr.log =====\n"
        # And a step on B cannot read A's output: what the db store fixes.
        two = await wait_final(b, await submit(b, {"template": "echo-input", "inputs": {"prev": one["id"]}, "memory": "256M"}), {})
        assert two["state"] == "failed" and "input prev" in (two["error"] or ""), two


@pytest.mark.asyncio
async def test_inputs_name_only_the_tenants_own_jobs(auth_client: httpx.AsyncClient) -> None:
    a_job = await submit(auth_client, {"prompt": "a's research"}, auth("tenant-a"))
    await wait_final(auth_client, a_job, auth("tenant-a"))
    body = {"template": "brief", "variables": {"brand": "ACME"}, "memory": "256M"}
    theirs = await auth_client.post("/api/jobs", json={**body, "inputs": {"research": a_job}}, headers=auth("tenant-b"))
    unknown = await auth_client.post("/api/jobs", json={**body, "inputs": {"research": "no-such-job"}}, headers=auth("tenant-b"))
    assert theirs.status_code == 422 == unknown.status_code, theirs.text
    assert theirs.json()["detail"][0]["loc"] == ["body", "inputs"]
    assert theirs.text == unknown.text.replace("no-such-job", a_job)
    own = await auth_client.post("/api/jobs", json={**body, "inputs": {"research": a_job}}, headers=auth("tenant-a"))
    assert own.status_code == 201, own.text
    assert (await wait_final(auth_client, own.json()["id"], auth("tenant-a")))["state"] == "succeeded"


def test_the_setting_and_a_bad_value(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.delenv("CLAUDE_JOBS_ARTIFACT_STORE", raising=False)
    monkeypatch.delenv("CLAUDE_JOBS_ARTIFACT_STORE_FILE", raising=False)
    assert Settings.from_env().artifact_store == "local"
    monkeypatch.setenv("CLAUDE_JOBS_ARTIFACT_STORE", "db")
    assert Settings.from_env().artifact_store == "db"

    async def start() -> None:
        async with serve(dataclasses.replace(settings, artifact_store="s3://b/p")):
            pass

    with pytest.raises(claude_jobs.InvalidSpecError) as err:
        asyncio.run(start())
    assert err.value.field == "artifact_store", err.value
