"""`make test-container` (issue 17): the claude-jobs-api and claude-jobs-node-api
images run as a deployment would run them, checked over HTTP.

For each image (both at once, each on its own port and volume):

1. `podman run` privileged with a private cgroup namespace, a named volume on
   /data, the API key as a secret file (ANTHROPIC_API_KEY_FILE), the service's
   API keys file (CLAUDE_JOBS_API_KEYS_FILE: the images listen on 0.0.0.0, which
   needs one), the fake CLI (testing/fake-claude) mounted as CLAUDE_BIN; wait for
   /health, which must report a cgroup isolation; the entrypoint must say which
   user runs the service. Every request but /health sends the API key; without
   it the FastAPI image answers 401, and without a keys file it refuses to start.
2. POST two jobs capped at 64 MiB: one that allocates 2 GiB (`alloc`) must end
   `oom_killed`, a normal one `succeeded`; /metrics must count the OOM kill.
3. Two 60 s jobs; once they run, their processes are found on the host (through
   the container's cgroup); `podman stop` the container: afterwards none of
   those processes is left on the host, nor their cgroups.
4. A new container on the same volume: the finished jobs are still listed, the
   stopped ones are final (`interrupted`, or `failed` when the service recorded
   its CLI's death before its own).

It also prints what a container sees of its cgroups on this host, with the host's
and with a private cgroup namespace. Uses only the standard library; ends with
`N passed, M failed`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parents[2]
RUN_OPTS = ["--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--network", "host"]
CAP = 64 << 20
FINAL = {"succeeded", "failed", "cancelled", "timed_out", "oom_killed", "interrupted"}
#: The API key the tests send (the keys file holds its SHA-256 for the tenant below).
API_KEY = "container-test-key-0123456789abcdef"
TENANT = "container-test"
#: The images whose service checks API keys: both (the FastAPI and the Node
#: service read CLAUDE_JOBS_API_KEYS_FILE and refuse 0.0.0.0 without it).
AUTH_CHECKED = {"api", "node-api"}


def podman(*args: str, check: bool = True, capture: bool = True) -> str:
    p = subprocess.run(["podman", *args], capture_output=capture, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args[:3])}…: exit {p.returncode}: {p.stderr.strip()[-2000:]}")
    return p.stdout if capture else ""


def http(method: str, url: str, body: Optional[dict[str, Any]] = None, timeout: float = 10, key: Optional[str] = API_KEY) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def job_list(payload: Any) -> list[dict[str, Any]]:
    """The job list of GET /api/jobs: a bare array, or `{jobs: [...], next_cursor}` (paged)."""
    if isinstance(payload, dict):
        return list(payload.get("jobs", []))
    return list(payload)


def all_jobs(base: str) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = []
    url = f"{base}/api/jobs"
    for _ in range(100):
        status, text = http("GET", url)
        assert status == 200, (status, text)
        payload = json.loads(text)
        jobs += job_list(payload)
        cursor = payload.get("next_cursor") if isinstance(payload, dict) else None
        if not cursor:
            return jobs
        url = f"{base}/api/jobs?cursor={cursor}"
    return jobs


def wait_for(what: str, pred: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except (OSError, ValueError, AssertionError) as e:
            last = e
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


@dataclass
class Service:
    name: str  # api | node-api
    image: str
    port: int
    fake: str
    secret: str
    keys: str
    volume: str = ""
    container: str = ""
    results: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def options(self, keys: bool = True) -> list[str]:
        """`podman run`'s options: as deploy/compose.yaml runs the image (HOST
        0.0.0.0 from the image, the API keys file as a secret file)."""
        return [
            *RUN_OPTS, "--privileged", "--cgroupns=private",
            "-v", f"{self.volume}:/data", "-v", f"{self.fake}:/usr/local/bin/fake-claude:ro",
            "-v", f"{self.secret}:/run/secrets/anthropic_api_key:ro",
            "-e", "ANTHROPIC_API_KEY_FILE=/run/secrets/anthropic_api_key",
            *(["-v", f"{self.keys}:/run/secrets/claude_jobs_api_keys:ro",
               "-e", "CLAUDE_JOBS_API_KEYS_FILE=/run/secrets/claude_jobs_api_keys"] if keys else []),
            "-e", "CLAUDE_BIN=/usr/local/bin/fake-claude", "-e", f"PORT={self.port}",
            # The values deploy/compose.yaml passes by default.
            "-e", "MAX_CONCURRENT_JOBS=4", "-e", "CLAUDE_JOBS_MEMORY_BUDGET=auto", "-e", "CLAUDE_JOBS_CPU_BUDGET=off",
            "-e", "CLAUDE_JOBS_STORE=sqlite:///data/claude-jobs.db", "-e", "CLAUDE_JOBS_ISOLATION=required",
            self.image,
        ]

    def run(self) -> None:
        self.container = f"claude-jobs-test-{self.name}"
        podman("rm", "-f", "-t", "0", self.container, check=False)
        podman("run", "-d", "--name", self.container, *self.options())

    def health(self) -> dict[str, Any]:
        status, text = http("GET", f"{self.base}/health", timeout=2)
        assert status == 200, (status, text)
        return dict(json.loads(text))

    def submit(self, prompt: str, **extra: Any) -> str:
        status, text = http("POST", f"{self.base}/api/jobs", {"prompt": prompt, **extra})
        assert status == 201, (status, text)
        return str(json.loads(text)["id"])

    def job(self, job_id: str) -> dict[str, Any]:
        status, text = http("GET", f"{self.base}/api/jobs/{job_id}")
        assert status == 200, (status, text)
        return dict(json.loads(text))

    def wait_final(self, job_id: str, timeout: float = 60) -> dict[str, Any]:
        seen: dict[str, Any] = {}

        def ended() -> dict[str, Any] | None:
            seen.update(self.job(job_id))
            return seen if seen["state"] in FINAL else None

        try:
            return dict(wait_for(f"job {job_id} to end", ended, timeout))
        except AssertionError as e:
            keep = ("state", "attempt", "error", "node_id", "locked_by", "started_at")
            raise AssertionError(f"{e}; the job: {({k: seen.get(k) for k in keep if k in seen})}") from None

    def check(self, what: str, fn: Callable[[], str]) -> bool:
        try:
            detail = fn()
            self.results.append((what, True, detail))
            print(f"PASS {self.name}: {what}: {detail}", flush=True)
            return True
        except Exception as e:  # noqa: BLE001 - reported, then the run fails
            self.results.append((what, False, repr(e)))
            print(f"FAIL {self.name}: {what}: {e!r}", flush=True)
            return False


def host_cgroup_dir(container: str, controller: str) -> Path:
    """The container's cgroup directory on the host, in one v1 hierarchy (or v2)."""
    pid = podman("inspect", "--format", "{{.State.Pid}}", container).strip()
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        if controller in ctrls.split(","):
            return Path(f"/sys/fs/cgroup/{controller}{path}")
        if ctrls == "" and Path("/sys/fs/cgroup/cgroup.controllers").exists():
            return Path(f"/sys/fs/cgroup{path}")
    raise AssertionError(f"no {controller} cgroup for {container} (pid {pid})")


def job_processes(cg: Path) -> dict[int, str]:
    """pid → comm of every process in a job-* cgroup below `cg`, seen from the host."""
    procs: dict[int, str] = {}
    for procs_file in cg.glob("**/job-*/cgroup.procs"):
        for pid in procs_file.read_text().split():
            try:
                procs[int(pid)] = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                pass
    return procs


def alive(pid: int, comm: str) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == comm
    except OSError:
        return False


def scenario(s: Service) -> None:
    """Steps 1-4 of the module's doc for one service."""
    if not s.check("starts and answers /health with cgroup isolation", lambda: start(s)):
        return
    s.check("64 MiB job that allocates more: oom_killed; a normal one beside it: succeeded", lambda: oom_and_ok(s))
    s.check("/metrics counts the jobs and the OOM kill", lambda: metrics(s))
    s.check("stopped with running jobs: no job process or cgroup left on the host", lambda: stop_with_jobs(s))
    s.check("started again on the same volume: finished jobs still listed", lambda: restart(s))


def start(s: Service) -> str:
    refused = ""
    if s.name in AUTH_CHECKED:
        # Without a keys file the image (HOST=0.0.0.0) must refuse to start, saying why.
        p = subprocess.run(["podman", "run", "--rm", *s.options(keys=False)], capture_output=True, text=True, timeout=120)
        assert p.returncode != 0 and "without CLAUDE_JOBS_API_KEYS_FILE" in p.stderr, (p.returncode, p.stderr[-2000:])
        refused = "; refuses 0.0.0.0 without a keys file"
    s.run()
    h = wait_for("/health", s.health, 60)
    if s.name in AUTH_CHECKED:
        for key in (None, "wrong-key"):
            status, text = http("GET", f"{s.base}/api/jobs", key=key)
            assert status == 401, (key, status, text)
        status, text = http("GET", f"{s.base}/api/tenant")
        assert status == 200 and json.loads(text)["tenant"] == TENANT, (status, text)
    isolation = h.get("isolation")
    assert isolation in ("cgroup-v1", "cgroup-v2"), h
    logs = podman("logs", s.container)
    logs += subprocess.run(["podman", "logs", s.container], capture_output=True, text=True).stderr
    user = next((line for line in logs.splitlines() if line.startswith("entrypoint:")), "entrypoint: (no line)")
    # The image's HEALTHCHECK (podman runs it by hand here: no systemd timers).
    hc = subprocess.run(["podman", "healthcheck", "run", s.container], capture_output=True, text=True)
    assert hc.returncode == 0, f"HEALTHCHECK: exit {hc.returncode} {hc.stdout}{hc.stderr}"
    auth = "; 401 without the key, tenant from the key" if s.name in AUTH_CHECKED else ""
    return f"isolation {isolation}; HEALTHCHECK healthy; {user}{auth}{refused}"


def oom_and_ok(s: Service) -> str:
    oom = s.submit("eat memory\nfake-scenario: alloc", memory="64M")
    ok = s.submit("hello\nfake-scenario: ok", memory="64M")
    a, b = s.wait_final(oom), s.wait_final(ok)
    assert a["state"] == "oom_killed", a
    assert b["state"] == "succeeded", b
    for j in (a, b):
        assert j["isolation"] in ("cgroup-v1", "cgroup-v2"), j["isolation"]
        assert j["limits"]["memory"] == CAP, j["limits"]
    s.finished = [oom, ok]  # type: ignore[attr-defined]
    peak = a["stats"].get("peak_memory_bytes") or a["stats"].get("peakMemoryBytes")
    return f"{a['state']} (peak {int(peak or 0) >> 20} MiB) and {b['state']}, isolation {a['isolation']}"


def metrics(s: Service) -> str:
    status, text = http("GET", f"{s.base}/metrics")  # with the key (not public)
    assert status == 200, status
    lines = [line for line in text.splitlines() if line.startswith("claude_jobs_oom_kills_total")]
    assert lines and float(lines[0].split()[-1]) >= 1, lines
    states = [line for line in text.splitlines() if line.startswith("claude_jobs_jobs{")]
    assert any('state="succeeded"' in line and not line.endswith(" 0") for line in states), states
    return f"{lines[0]}; {len(text)} bytes"


def stop_with_jobs(s: Service) -> str:
    ids = [s.submit(f"long job {i}\nfake-scenario: slow", memory="64M") for i in range(2)]
    s.stopped = ids  # type: ignore[attr-defined]
    wait_for("the long jobs to run", lambda: all(s.job(i)["state"] == "running" for i in ids), 30)
    cg = host_cgroup_dir(s.container, "pids")
    procs = wait_for("the jobs' processes on the host", lambda: (p := job_processes(cg)) and len(p) >= 2 and p, 10)
    t0 = time.monotonic()
    podman("stop", "-t", "10", s.container)
    took = time.monotonic() - t0
    left = {pid: comm for pid, comm in procs.items() if alive(pid, comm)}
    assert not left, f"processes left on the host: {left}"
    # podman removes the container's cgroup when it cleans up after the exit, which
    # may end a moment after `podman stop` returns.
    wait_for(f"no job cgroup left under {cg}", lambda: not cg.exists() or not list(cg.glob("**/job-*")), 15)
    return f"{len(procs)} job processes ({', '.join(sorted(set(procs.values())))}) gone; stop took {took:.1f}s; {cg} {'gone' if not cg.exists() else 'has no job group'}"


def restart(s: Service) -> str:
    podman("rm", "-f", "-t", "0", s.container)
    s.run()
    wait_for("/health after the restart", s.health, 60)
    finished = getattr(s, "finished", [])
    stopped = getattr(s, "stopped", [])
    jobs = {j["id"]: j for j in all_jobs(s.base)}
    for i in finished:
        assert i in jobs, f"finished job {i} not listed after the restart"
    want = {i: s.job(i)["state"] for i in finished}
    assert sorted(want.values()) == ["oom_killed", "succeeded"], want
    # Killed with the container (SIGKILL after the 10 s stop timeout, inside the
    # services' 30 s drain): found at start-up and ended `interrupted`, or
    # `failed` when the service saw its CLI die just before it died itself.
    ends = {i: s.wait_final(i, 30)["state"] for i in stopped}
    assert all(st in ("interrupted", "failed") for st in ends.values()), ends
    return f"{len(jobs)} jobs listed; finished: {sorted(want.values())}; the stopped ones: {sorted(ends.values())}"


def cgroup_view() -> None:
    """What a container sees of its cgroups on this host, by cgroup namespace."""
    base = os.environ.get("BASE_IMAGE", "localhost/claude-jobs-base:trixie")
    script = (
        "grep -E ':memory:|^0::' /proc/self/cgroup | tr '\\n' ' '; echo; "
        "awk '$9 ~ /^cgroup/ && $5 ~ /memory|unified|^\\/sys\\/fs\\/cgroup$/ {print \"  mount\", $5, \"root=\" $4, $6}' /proc/self/mountinfo; "
        "stat -fc '  /sys/fs/cgroup is %T' /sys/fs/cgroup"
    )
    for ns in ("host", "private"):
        for priv in ([], ["--privileged"]):
            out = podman("run", "--rm", *RUN_OPTS, *priv, f"--cgroupns={ns}", base, "sh", "-c", script, check=False)
            print(f"cgroup view, --cgroupns={ns}{' --privileged' if priv else ''}: {out.strip()}", flush=True)


def main() -> int:
    images = {"api": os.environ.get("API_IMAGE", "localhost/claude-jobs-api:latest"),
              "node-api": os.environ.get("NODE_IMAGE", "localhost/claude-jobs-node-api:latest")}
    only = os.environ.get("TEST_CONTAINER_ONLY", "").split()
    fake = os.environ["FAKE_CLAUDE"]
    print(f"host: cgroup {'v2' if Path('/sys/fs/cgroup/cgroup.controllers').exists() else 'v1 (hybrid)'}; "
          f"podman {podman('--version').split()[-1]}", flush=True)
    cgroup_view()
    with tempfile.TemporaryDirectory() as tmp:
        secret = Path(tmp, "anthropic_api_key")
        secret.write_text("test-key-not-a-real-one\n")
        secret.chmod(0o644)
        keys = Path(tmp, "claude_jobs_api_keys")
        keys.write_text(f"# the tests' tenant\n{TENANT}:{hashlib.sha256(API_KEY.encode()).hexdigest()}\n")
        keys.chmod(0o644)
        services = []
        for i, (name, image) in enumerate(images.items()):
            if only and name not in only:
                continue
            s = Service(name, image, 18730 + i, fake, str(secret), str(keys))
            s.volume = f"claude-jobs-test-{name}-data"
            podman("volume", "rm", "-f", s.volume, check=False)
            podman("volume", "create", s.volume)
            services.append(s)
        threads = [threading.Thread(target=scenario, args=(s,)) for s in services]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for s in services:
            podman("rm", "-f", "-t", "0", s.container, check=False)
            podman("volume", "rm", "-f", s.volume, check=False)
    results = [r for s in services for r in s.results]
    passed = sum(1 for r in results if r[1])
    failed = len(results) - passed
    print(f"test-container: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 and passed == 5 * len(services) else 1


if __name__ == "__main__":
    sys.exit(main())
