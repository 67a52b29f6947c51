"""``python dashboard.py [--host H] [--port N]``: the service with the dashboard
(what ``make dashboard`` does). With ``ANTHROPIC_API_KEY`` set, jobs use the
real API; otherwise it starts the bundled mock API (``target/debug/mock-anthropic``)
on 127.0.0.1 and gives every job its address, and says so. The other settings
(keys file, policy, …) come from the environment as for ``python app.py``; a
non-loopback ``--host`` needs ``CLAUDE_JOBS_API_KEYS_FILE``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Optional

from auth import KeysFileError
from dashboard import ROOT
from settings import Settings

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


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
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
    return p.parse_args(argv)


def checked_settings(host: str) -> Settings:
    """The environment's settings on `host`; exits saying why when the service must not start."""
    try:
        from app import create_app, listen_refusal  # (importing app reads the keys file too)

        settings = dataclasses.replace(Settings.from_env(), host=host)
        refusal = listen_refusal(settings)
        if refusal:
            sys.exit(f"claude-jobs dashboard: {refusal}")
        create_app(settings)  # reads the keys file: a bad one stops here
    except (KeysFileError, ValueError) as e:
        sys.exit(f"claude-jobs dashboard: {e}")
    return settings


def with_mock(settings: Settings, args: argparse.Namespace) -> tuple[Settings, Optional[subprocess.Popen[str]], str]:
    """The settings with the mock API's address in every job's env (when it is
    used), the mock's process, and the line that says which API the jobs use."""
    has_key = bool(os.environ.get("ANTHROPIC_API_KEY"))
    if args.api == "real" and not has_key:
        sys.exit("--api real needs ANTHROPIC_API_KEY")
    if not (args.api == "mock" or (args.api == "auto" and not has_key)):
        return settings, None, "API: the real Anthropic API (ANTHROPIC_API_KEY is set): jobs cost money"
    mock, url = start_mock(args.mock_bin, args.mock_scenario)
    env = {
        **settings.job_env,
        "ANTHROPIC_BASE_URL": url,
        "ANTHROPIC_API_KEY": MOCK_ENV_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
    }
    why = "ANTHROPIC_API_KEY is not set" if not has_key else "--api mock"
    line = f"API: the offline mock at {url} (scenario {args.mock_scenario}; {why}): outputs are sample text, no model is called"
    return dataclasses.replace(settings, job_env=env), mock, line


def main(argv: Optional[list[str]] = None) -> None:
    import uvicorn

    from app import create_app

    args = parse_args(argv)
    settings, mock, api_line = with_mock(checked_settings(args.host), args)
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
            keys = "keys from CLAUDE_JOBS_API_KEYS_FILE" if settings.api_keys_file else "no API keys"
            print(f"auth: {keys}; policy: {settings.policy}", flush=True)
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
