"""Faust exactly_once on the embedded Kafka with several workers (streams.compat.transactions)."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiokafka import AIOKafkaProducer

from core.settings import Settings
from services.process import terminate
from services.stack import Stack
from solbot.audit import audit_run
from solbot.runner import drain, start_worker
from tests.integration.harness import all_decided, running_pipeline, until

pytestmark = pytest.mark.integration


def _log_messages(path: object) -> list[str]:
    out = []
    for line in open(str(path), encoding="utf-8", errors="replace"):
        try:
            out.append(str(json.loads(line).get("message", "")))
        except ValueError:
            continue
    return out


@pytest.mark.slow  # `make test-slow` (CI runs it): keeps `make test` within its 15 minutes
async def test_two_workers_a_signal_of_the_worker_without_signals_0_is_decided_and_executed_once(
    fresh_stack: Stack, fresh_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two features partitions, one per worker, both carrying pairs (SOL/USDC on 0, the others on 1), so
    # whichever worker owns signals-0, the other one's model agent produces signals too.
    monkeypatch.setenv("TOPIC_PARTITIONS", "2")
    settings = fresh_settings.model_copy(
        update={"processing_guarantee": "exactly_once", "topic_partitions": 2}
    )
    async with running_pipeline(settings, fresh_stack, seed=7, rate_eps=300, duration_s=50) as p:
        assert p.guarantee == "exactly_once"
        second = start_worker(settings, fresh_stack, p.guarantee, 1)
        try:
            counts = p.monitor.counts
            assert await until(lambda: counts.orders >= 3, 120), "no orders under exactly_once"
            await p.feed
            await drain(p.monitor, quiet_s=8, limit_s=60)
        finally:
            terminate(second.proc.pid, timeout_s=15)
    logs = {w.index: _log_messages(w.log_path) for w in (p.worker, second)}
    signalled = {i for i, messages in logs.items() if "signal" in messages}
    deciding = {i for i, messages in logs.items() if "decision" in messages}
    assert len(deciding) == 1, deciding  # one owner of signals-0
    assert signalled - deciding, f"every signal came from the owner of signals-0: {signalled}"
    assert not any("fenced" in m for messages in logs.values() for m in messages)
    audit = await audit_run(p.bootstrap, fresh_stack.database_url, settings.portfolio)
    assert audit.orders > 0 and audit.terminal > 0
    assert audit.duplicates == []
    assert audit.missing == []
    assert audit.position_mismatches == []


@pytest.mark.slow  # `make test-slow` (CI runs it): keeps `make test` within its 15 minutes
async def test_a_fenced_producer_does_not_crash_the_worker(
    fresh_stack: Stack, fresh_settings: Settings
) -> None:
    settings = fresh_settings.model_copy(update={"processing_guarantee": "exactly_once"})
    async with running_pipeline(settings, fresh_stack, seed=7, rate_eps=300, duration_s=60) as p:
        counts = p.monitor.counts
        assert await until(lambda: counts.orders >= 2, 120), "no orders under exactly_once"
        # The task of every one-partition topic (signals, orders, fills, ...): group 0, partition 0.
        zombie = AIOKafkaProducer(bootstrap_servers=p.bootstrap, transactional_id=f"{settings.app_id}-0-0")
        await zombie.start()  # InitProducerId: the worker's producer of that task is fenced
        await zombie.stop()
        before = counts.orders + counts.rejected
        decided = await until(lambda: counts.orders + counts.rejected > before + 2, 90)
        await asyncio.sleep(1)
        assert p.worker.proc.poll() is None, "the fenced worker exited"
        assert decided, "nothing decided after the fence"
        await p.feed
        await drain(p.monitor, quiet_s=8, limit_s=60)
        # After the fence the whole worker has been seen to stop for 60 s (make test-slow, twice), then go
        # on and decide everything: a known limit (docs/faults.md), waited out here so the audit judges
        # what was decided, not when.
        await all_decided(p, timeout_s=150)
    assert any("fenced" in m for m in _log_messages(p.worker.log_path))
    audit = await audit_run(p.bootstrap, fresh_stack.database_url, settings.portfolio)
    messages = _log_messages(p.worker.log_path)
    assert any("fenced partitions forgotten" in m for m in messages)  # tables rebuilt from committed records
    assert audit.duplicates == []
    assert audit.position_mismatches == []
    assert audit.missing == []  # the aborted transaction's signals were decided again after the rejoin
