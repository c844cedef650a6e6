"""Exceptions at every side-effect boundary (FAULT_INJECT): the worker goes on, nothing is lost or doubled."""

from __future__ import annotations

import pytest

from core.settings import Settings
from services.stack import Stack
from tests.integration.faults_harness import assert_clean, counters, metrics_page, settle_and_audit
from tests.integration.harness import running_pipeline

pytestmark = pytest.mark.integration

FAULTS = "sink.apply:0.15,sink.publish:0.15,risk.decide:0.05,risk.publish:0.2,model.publish:0.02"


@pytest.mark.parametrize("guarantee", ["exactly_once", pytest.param("at_least_once", marks=pytest.mark.slow)])
async def test_exceptions_at_every_side_effect_boundary_lose_and_double_nothing(
    fresh_stack: Stack, fresh_settings: Settings, guarantee: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAULT_INJECT", FAULTS)
    # Each point's schedule is its own (core/faults.py): with seed 28 the first sink.apply and risk.decide
    # calls fail, the second sink.publish and the twelfth risk.publish, so every boundary is hit in a run.
    monkeypatch.setenv("FAULT_INJECT_SEED", "28")
    settings = fresh_settings.model_copy(update={"processing_guarantee": guarantee})
    async with running_pipeline(settings, fresh_stack, seed=7, rate_eps=400, duration_s=40) as p:
        audit = await settle_and_audit(p, fresh_stack, [p.worker.web_port])
        assert p.worker.proc.poll() is None, "the worker exited"
        page = await metrics_page(p.worker.web_port)
    injected = counters(page, "solbot_faults_injected_total")
    failures = counters(page, "solbot_batch_failures_total")
    assert {"sink.apply", "sink.publish", "risk.decide", "risk.publish"} <= injected.keys(), injected
    assert {"execution", "risk"} <= failures.keys(), failures
    assert_clean(audit)
