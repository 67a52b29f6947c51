"""`python app.py` as a deployment starts it: HOST and PORT, the refusal to
listen beyond loopback without a keys file, a malformed keys file refused
naming the line, and a served, authenticated API with one."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

import pytest

from app_helpers import KEYS, fake_claude, write_keys

EXAMPLE = Path(__file__).resolve().parents[1]
SETTINGS_VARS = ("HOST", "PORT", "CLAUDE_JOBS_API_KEYS_FILE", "CLAUDE_JOBS_POLICY_FILE", "CLAUDE_JOBS_METRICS_PUBLIC",
                 "CLAUDE_JOBS_WEBHOOK_SECRET", "CLAUDE_JOBS_STORE", "ANTHROPIC_API_KEY")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        port: int = s.getsockname()[1]
        return port


def start(tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS and not k.endswith("_FILE")}
    base.update(CLAUDE_BIN=str(fake_claude()), CLAUDE_JOBS_DATA_DIR=str(tmp_path / "data"), MAX_CONCURRENT_JOBS="2")
    base.update(env)
    return subprocess.Popen([sys.executable, "app.py"], cwd=EXAMPLE, env=base, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def refused(proc: subprocess.Popen[str]) -> str:
    """The stderr of a process that must exit non-zero by itself."""
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the service started instead of refusing") from None
    assert proc.returncode != 0, err
    return err


def call(method: str, url: str, key: Optional[str] = None, body: Optional[dict[str, Any]] = None) -> tuple[int, Any]:
    headers = {"content-type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def wait_health(proc: subprocess.Popen[str], base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            if call("GET", f"{base}/health")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("no /health in 60 s")


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(45)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_public_host_without_keys_is_refused(tmp_path: Path) -> None:
    err = refused(start(tmp_path, HOST="0.0.0.0", PORT=str(free_port())))
    assert "refusing to listen on 0.0.0.0 without CLAUDE_JOBS_API_KEYS_FILE" in err, err
    err = refused(start(tmp_path, HOST="192.0.2.1", PORT=str(free_port())))
    assert "refusing to listen on 192.0.2.1" in err


def test_a_malformed_keys_file_refuses_naming_the_line(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# keys\nteam-a:not-a-sha256\n")
    err = refused(start(tmp_path, HOST="0.0.0.0", PORT=str(free_port()), CLAUDE_JOBS_API_KEYS_FILE=str(keys)))
    assert f"{keys} line 2" in err and "64 hex" in err, err
    err = refused(start(tmp_path, PORT=str(free_port()), CLAUDE_JOBS_API_KEYS_FILE=str(tmp_path / "missing")))
    assert str(tmp_path / "missing") in err and "cannot read" in err, err
    err = refused(start(tmp_path, PORT="http"))
    assert "PORT" in err, err


def test_with_a_keys_file_it_serves_any_address(tmp_path: Path) -> None:
    keys = write_keys(tmp_path / "keys", KEYS)
    port = free_port()
    proc = start(tmp_path, HOST="0.0.0.0", PORT=str(port), CLAUDE_JOBS_API_KEYS_FILE=str(keys))
    try:
        base = f"http://127.0.0.1:{port}"
        wait_health(proc, base)
        assert call("GET", f"{base}/api/jobs")[0] == 401
        assert call("GET", f"{base}/api/jobs", key="wrong")[0] == 401
        status, job = call("POST", f"{base}/api/jobs", key=KEYS["tenant-a"], body={"prompt": "hello"})
        assert status == 201 and job["tenant"] == "tenant-a", job
        deadline = time.monotonic() + 30
        while call("GET", f"{base}/api/jobs/{job['id']}", key=KEYS["tenant-a"])[1]["state"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert call("GET", f"{base}/api/jobs/{job['id']}", key=KEYS["tenant-b"])[0] == 404
    finally:
        code = stop(proc)
    # uvicorn re-raises SIGTERM after its graceful shutdown (newer versions).
    assert code in (0, -signal.SIGTERM), proc.communicate()[1]


def test_loopback_by_default_without_keys(tmp_path: Path) -> None:
    port = free_port()
    proc = start(tmp_path, PORT=str(port))
    try:
        base = f"http://127.0.0.1:{port}"
        wait_health(proc, base)
        status, page = call("GET", f"{base}/api/jobs")
        assert status == 200 and page == {"jobs": [], "next_cursor": None}
        assert call("GET", f"{base}/api/tenant")[1]["tenant"] is None
    finally:
        assert stop(proc) in (0, -signal.SIGTERM)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.1.2.3", "[::1]"])
def test_loopback_addresses(host: str) -> None:
    from app import is_loopback

    assert is_loopback(host)
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("example.com")
