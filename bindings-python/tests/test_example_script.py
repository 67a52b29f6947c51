"""examples/python/capped_job.py runs a capped job and reports state, cost and peak memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_capped_job_script(fake_bin: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples/python/capped_job.py"), "--claude-bin", str(fake_bin),
         "--data-dir", str(tmp_path / "data"), "Hello script"],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["state"] == "succeeded" and report["result"] == "echo: Hello script"
    assert report["cost_usd"] > 0 and report["session_id"]
    assert report["memory_cap"] == 512 << 20
    if report["isolation"] != "none":  # cgroups in use: the peak is read from the job's cgroup
        assert 0 < report["peak_memory_bytes"] <= 512 << 20
