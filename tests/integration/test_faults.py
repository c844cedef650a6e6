"""Exceptions at every side-effect boundary (FAULT_INJECT): the worker goes on, nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.request
from collections.abc import Awaitable, Callable

import orjson
import pytest

from core.settings import Settings
from services.stack import Stack
from solbot.audit import audit_run
from solbot.runner import drain
from tests.integration.harness import running_pipeline

pytestmark = pytest.mark.integration

FAULTS = "sink.apply:0.15,sink.publish:0.15,risk.decide:0.05,risk.publish:0.2,model.publish:0.02"


def _get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return bytes(response.read())


async def pending(port: int, portfolio: str) -> bool:
    status = orjson.loads(await asyncio.to_thread(_get, port, "/status/"))
    return status["risk"][portfolio]["pending"] == []


async def until_async(check: Callable[[], Awaitable[bool]], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(1.0)
    return False


def counters(metrics: str, name: str) -> dict[str, float]:
    """label value -> count of one labelled counter in a Prometheus text page."""
    return {m[0]: float(m[1]) for m in re.findall(rf'^{name}{{\w+="([^"]+)"}} ([0-9.e+]+)$', metrics, re.M)}


@pytest.mark.parametrize("guarantee", ["exactly_once", pytest.param("at_least_once", marks=pytest.mark.slow)])
async def test_exceptions_at_every_side_effect_boundary_lose_and_double_nothing(
    fresh_stack: Stack, fresh_settings: Settings, guarantee: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAULT_INJECT", FAULTS)
    monkeypatch.setenv("FAULT_INJECT_SEED", "16")
    settings = fresh_settings.model_copy(update={"processing_guarantee": guarantee})
    async with running_pipeline(settings, fresh_stack, seed=7, rate_eps=400, duration_s=40) as p:
        await p.feed
        await drain(p.monitor, quiet_s=10, limit_s=90)
        assert p.worker.proc.poll() is None, "the worker exited"
        port = p.worker.web_port
        # every reservation ends with its order's outcome (a batch retried after faults may still be due)
        assert await until_async(lambda: pending(port, settings.portfolio), 60), "reservations left pending"
        page = (await asyncio.to_thread(_get, port, "/metrics")).decode()
    injected = counters(page, "solbot_faults_injected_total")
    failures = counters(page, "solbot_batch_failures_total")
    assert {"sink.apply", "risk.decide", "risk.publish"} <= injected.keys(), injected
    assert {"execution", "risk"} <= failures.keys(), failures
    audit = await audit_run(p.bootstrap, fresh_stack.database_url, settings.portfolio)
    assert audit.orders > 0 and audit.terminal == audit.orders
    assert audit.duplicates == []
    assert audit.missing == []
    assert audit.position_mismatches == []
