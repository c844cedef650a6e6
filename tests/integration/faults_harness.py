"""What the fault-kind tests share: a worker's pages, metrics counters, the invariants after a run."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from services.stack import Stack
from solbot.audit import Audit, audit_run
from solbot.runner import drain
from tests.integration.harness import Pipeline, all_decided


def get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return bytes(response.read())


async def status(port: int) -> dict[str, Any]:
    return dict(orjson.loads(await asyncio.to_thread(get, port, "/status/")))


async def metrics_page(port: int) -> str:
    return (await asyncio.to_thread(get, port, "/metrics")).decode()


def counters(page: str, name: str) -> dict[str, float]:
    """label value -> count of one counter with one label, in a Prometheus text page."""
    return {m[0]: float(m[1]) for m in re.findall(rf'^{name}{{\w+="([^"]+)"}} ([0-9.e+]+)$', page, re.M)}


async def until_async(check: Callable[[], Awaitable[bool]], timeout_s: float, every_s: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(every_s)
    return False


async def no_pending(port: int, portfolio: str) -> bool:
    """Whether the risk state on that worker holds no reservation (false if it does not own the state)."""
    risk = (await status(port))["risk"].get(portfolio)
    return risk is not None and risk["pending"] == []


async def input_holes(ports: list[int]) -> list[dict[str, float]]:
    """Per worker, the raw records its features agent was never handed, by topic (empty: none)."""
    return [counters(await metrics_page(port), "solbot_input_holes_records_total") for port in ports]


async def settle_and_audit(p: Pipeline, stack: Stack, ports: list[int], limit_s: float = 90) -> Audit:
    """After the feed: drain, wait until the risk state's reservations all ended, audit the run."""
    await p.feed
    await drain(p.monitor, quiet_s=10, limit_s=limit_s)
    await all_decided(p)

    async def settled() -> bool:
        for port in ports:
            try:
                if await no_pending(port, p.settings.portfolio):
                    return True
            except OSError:
                continue
        return False

    assert await until_async(settled, 60), "reservations left pending in the risk state"
    return await audit_run(p.bootstrap, stack.database_url, p.settings.portfolio)


def assert_clean(audit: Audit) -> None:
    assert audit.orders > 0 and audit.terminal == audit.orders, audit
    assert audit.duplicates == []
    assert audit.missing == []
    assert audit.position_mismatches == []
