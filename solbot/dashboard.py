"""The dashboard `solbot run` serves: `solbot web` as a child of the run on the stack's services, started
after the workers and stopped with them (it dies with the run: PR_SET_PDEATHSIG), its URL printed once.

A dashboard that cannot start is a warning, not the end of the run: the bot trades without it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ServiceError
from core.settings import Settings
from services.process import free_port, port_open, spawn, terminate, wait_until
from services.stack import Stack
from services.web_ports import bindable
from web.api.local_signin import local_sign_in_enabled

READY_S = 120.0  # migrations and the first Kafka metadata on a busy machine


@dataclass
class Dashboard:
    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def stop(self) -> None:
        terminate(self.proc.pid, timeout_s=15)


def dashboard_port(settings: Settings) -> int:
    """WEB_PORT when nothing listens there (a `solbot web` of its own may), else any free port."""
    try:
        if settings.web_port and bindable(settings.web_host, settings.web_port):
            return settings.web_port
    except OSError:  # WEB_HOST not an address of this machine: uvicorn will say so in the log
        pass
    return free_port()


def dashboard_url(settings: Settings, port: int) -> str:
    host = settings.web_host
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if settings.web_tls else 'http'}://{shown}:{port}/"


def how_to_sign_in(settings: Settings) -> str:
    if local_sign_in_enabled(settings):
        return 'open it and click "Sign in locally" (development: the owner key in the data directory)'
    return "sign in with the owner's wallet (Phantom)"


def start_dashboard(settings: Settings, stack: Stack) -> Dashboard:
    """Spawn `solbot web` on the run's services and data directory (call from the main thread)."""
    port = dashboard_port(settings)
    env = dict(os.environ)
    env.update(stack.env())
    env.update({"DATA_DIR": str(settings.data_dir.resolve()), "WEB_PORT": str(port)})
    log_path = settings.data_dir / "web.log"
    proc = spawn(
        [sys.executable, "-m", "solbot.cli", "web", "--port", str(port)],
        log_path=log_path,
        detached=False,
        env=env,
    )
    return Dashboard(proc, dashboard_url(settings, port), log_path)


async def wait_ready(dashboard: Dashboard, host: str, timeout_s: float = READY_S) -> None:
    """Until it listens (uvicorn binds after the app's start-up); ServiceError with the log's tail if not."""
    port = int(dashboard.url.rstrip("/").rsplit(":", 1)[1])
    probe = "127.0.0.1" if host in ("0.0.0.0", "::") else host.strip("[]")
    await asyncio.to_thread(
        wait_until,
        lambda: port_open(probe, port),
        timeout_s=timeout_s,
        what="the dashboard (solbot web)",
        proc=dashboard.proc,
        log_path=dashboard.log_path,
    )


async def serve_dashboard(settings: Settings, stack: Stack, out: Any) -> Dashboard | None:
    """Start the dashboard and print its URL in one line; a warning line instead when it fails."""
    try:
        dashboard = start_dashboard(settings, stack)
    except ServiceError as exc:
        print(f"solbot: warning: no dashboard: {exc}", file=out, flush=True)
        return None
    try:
        await wait_ready(dashboard, settings.web_host)
    except ServiceError as exc:
        dashboard.stop()
        print(f"solbot: warning: no dashboard: {exc}", file=out, flush=True)
        return None
    print(
        f"solbot: dashboard {dashboard.url} — {how_to_sign_in(settings)} (log {dashboard.log_path})",
        file=out,
        flush=True,
    )
    return dashboard
