"""The compose files parse and name what the README says (see check_compose.sh)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
results: list[bool] = []


def check(what: str, fn: Callable[[], str]) -> None:
    try:
        detail = fn()
        print(f"PASS compose: {what}: {detail}")
        results.append(True)
    except Exception as e:  # noqa: BLE001 - reported, then the run fails
        print(f"FAIL compose: {what}: {e!r}")
        results.append(False)


def load(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / name).read_text()))


def env_example() -> dict[str, str]:
    out = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


def services_ok(name: str, want: list[str]) -> str:
    doc = load(name)
    services = doc["services"]
    assert all(s in services for s in want), (name, list(services))
    for s in want:
        svc = services[s]
        assert svc.get("cgroup") == "private", (s, "cgroup: private")
        assert svc.get("privileged") is True, (s, "privileged: the cgroup mount read-write")
        env = svc["environment"]
        assert env["ANTHROPIC_API_KEY_FILE"] == "/run/secrets/anthropic_api_key", env
        assert "ANTHROPIC_API_KEY" not in env, "the key must be a secret file"
        assert "anthropic_api_key" in svc["secrets"], svc["secrets"]
        # HOST 0.0.0.0 needs API keys: the keys file is a secret of every service.
        assert env["HOST"] == "0.0.0.0" and env["CLAUDE_JOBS_API_KEYS_FILE"] == "/run/secrets/claude_jobs_api_keys", env
        assert "claude_jobs_api_keys" in svc["secrets"] and "claude_jobs_webhook_secret" in svc["secrets"], svc["secrets"]
        assert env["CLAUDE_JOBS_WEBHOOK_SECRET_FILE"] == "/run/secrets/claude_jobs_webhook_secret", env
        assert "./policy.yaml:/etc/claude-jobs/policy.yaml:ro" in svc["volumes"], svc["volumes"]
        assert str(env["CLAUDE_JOBS_POLICY_FILE"]).endswith(":-/etc/claude-jobs/policy.yaml}"), env
        assert any(str(v).endswith(":/data") and not str(v).startswith(("/", ".")) for v in svc["volumes"]), svc["volumes"]
        for p in svc["ports"]:
            assert str(p).startswith("${BIND_ADDRESS:-127.0.0.1}:"), p
    for sec in doc["secrets"].values():
        assert sec["file"].startswith("./secrets/"), sec
    return (f"{', '.join(want)}: cgroup private, privileged, a named volume on /data, the key and the API keys file as "
            "secret files (and the webhook secret), the policy mounted, ports on 127.0.0.1")


def defaults_listed() -> str:
    example = env_example()
    used: dict[str, str] = {}
    for name in ("compose.yaml", "compose.postgres.yaml"):
        for var, default in re.findall(r"\$\{(\w+):-([^}]*)\}", (DEPLOY / name).read_text()):
            used[var] = default
    missing = {v: d for v, d in used.items() if v not in example}
    assert not missing, f"not in .env.example: {missing}"
    differ = {v: (d, example[v]) for v, d in used.items() if example[v] != d}
    assert not differ, f"defaults differ from .env.example: {differ}"
    unused = set(example) - set(used)
    assert not unused, f"in .env.example but used by no compose file: {unused}"
    return f"{len(used)} variables, each in .env.example with its default"


def policy_is_safe() -> str:
    shipped = yaml.safe_load((DEPLOY / "policy.yaml").read_text())
    safe = yaml.safe_load((ROOT / "core" / "src" / "policy" / "safe.yaml").read_text())
    assert shipped == safe, (shipped, safe)
    return f"{len(shipped)} keys, the same as core/src/policy/safe.yaml"


def readme_says() -> str:
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"^## Deploy\n(.*?)(?=^## )", readme, re.S | re.M)
    assert m, "README has no '## Deploy' section"
    section = m.group(1)
    for needle in ("make dist", "make image", "deploy/compose.yaml", "compose.postgres.yaml", ".env.example",
                   "secrets/anthropic_api_key", "claude-jobs-api", "claude-jobs-node-api"):
        assert needle in section, f"the Deploy section does not mention {needle}"
    services = set(load("compose.yaml")["services"]) | set(load("compose.postgres.yaml")["services"])
    named = set(re.findall(r"`([\w-]+)` service", section))
    assert named and named <= services, f"services named in the README {named} vs the compose files {services}"
    return f"the Deploy section names the commands, files and services {sorted(named)}"


def podman_compose_dry_run() -> str:
    if not shutil.which("podman-compose"):
        raise AssertionError("podman-compose is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp, "deploy")
        shutil.copytree(DEPLOY, d)
        (d / "secrets" / "anthropic_api_key").write_text("not-a-key")
        (d / "secrets" / "claude_jobs_api_keys").write_text("team-a:" + "0" * 64 + "\n")
        (d / "secrets" / "claude_jobs_webhook_secret").write_text("")
        p = subprocess.run(["podman-compose", "--dry-run", "-f", "compose.yaml", "up", "-d"],
                           cwd=d, capture_output=True, text=True)
    out = p.stdout + p.stderr
    runs = [line for line in out.splitlines() if line.startswith("podman run")]
    assert p.returncode == 0 and len(runs) >= 1, out[-2000:]
    api = next(r for r in runs if "claude-jobs-api" in r)
    for piece in ("--privileged", "-p 127.0.0.1:8000:8000", "-e ANTHROPIC_API_KEY_FILE=/run/secrets/anthropic_api_key",
                  "claude-jobs-data:/data", "/run/secrets/anthropic_api_key:ro",
                  "-e CLAUDE_JOBS_API_KEYS_FILE=/run/secrets/claude_jobs_api_keys", "/run/secrets/claude_jobs_api_keys:ro",
                  "/etc/claude-jobs/policy.yaml:ro", "-e CLAUDE_JOBS_POLICY_FILE=/etc/claude-jobs/policy.yaml"):
        assert piece in api, (piece, api)
    assert "${" not in api, f"uninterpolated variable: {api}"
    return f"{len(runs)} podman run commands; the api one has --privileged, the loopback port, the secret, the volume"


check("compose.yaml: services api and node-api", lambda: services_ok("compose.yaml", ["api", "node-api"]))
check("compose.postgres.yaml: replicas api-1, api-2", lambda: services_ok("compose.postgres.yaml", ["api-1", "api-2"]))
check("compose.postgres.yaml: the store URL is a secret file",
      lambda: str(load("compose.postgres.yaml")["services"]["api-1"]["environment"]["CLAUDE_JOBS_STORE_FILE"]))
check(".env.example lists every variable with its default", defaults_listed)
check("deploy/policy.yaml is the built-in safe policy", policy_is_safe)
check("README's Deploy section", readme_says)
check("podman-compose --dry-run up", podman_compose_dry_run)
passed = sum(results)
print(f"test-compose: {passed} passed, {len(results) - passed} failed")
sys.exit(0 if all(results) else 1)
