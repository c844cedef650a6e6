"""The in-process backtest makes the orders a worker makes from the same recording through the broker.

This is what lets `solbot backtest` stand for the live pipeline: the same file, replayed through the
embedded broker into one worker (features, model, risk, execution agents) and backtested in one process,
gives the same orders, to the unit. Both order snapshots in event time across partitions (the model
agent's merge, fed by the replay's progress records) and apply each order's fill before the next signal
(the risk agent's fill barrier). The backtest runs with `FillModel.pipeline()`: the paper venue in a
worker fills each order at once on the state it was priced on, so the honest fill model's latency, own
impact and network fees (which a broker replay has no way to apply) would make the two differ by design;
this test pins that the decision code is the same. Under both guarantees: under exactly_once the signals
of several features partitions reach the one `signals` partition through several transactional producers,
which must keep the merge's order (`streams.compat.send_order`).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

import pytest

from backtest.engine import run_file
from backtest.fill_model import FillModel
from backtest.make_sample import sample_records
from backtest.recording import replay, write_records
from core.settings import Settings
from services.process import terminate
from services.stack import Stack
from solbot.audit import read_topic
from solbot.monitor import TopicMonitor
from solbot.runner import drain, prepare, start_worker
from streams.broker import bootstrap_of
from tests.integration.harness import until

pytestmark = pytest.mark.integration


def _key(order: dict[str, Any]) -> tuple[Any, ...]:
    return (order["id"], order["side"], order["kind"], order["amount_in"], order["min_amount_out"])


@pytest.mark.parametrize(
    "guarantee",
    ["exactly_once", pytest.param("at_least_once", marks=pytest.mark.slow)],  # the default in make test
)
def test_a_broker_replay_of_a_recording_makes_the_backtests_orders(
    fresh_settings: Settings, fresh_stack: Stack, tmp_path: Path, guarantee: str
) -> None:
    settings = fresh_settings.model_copy(update={"processing_guarantee": guarantee})
    # Event time near the wall clock, as a fresh recording's: the worker's windowed tables expire by it.
    start_ms = (int(time.time()) + 10) * 1000
    path = tmp_path / "market.jsonl.gz"
    write_records(
        path,
        sample_records(
            seed=3, duration_s=30, rate_eps=300, partitions=fresh_settings.topic_partitions, start_ms=start_ms
        ),
    )
    pipeline = FillModel.pipeline()
    backtest = [_key(o.asdict()) for o in run_file(path, fresh_settings, seed=0, fill_model=pipeline).orders]

    async def live() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        bootstrap = bootstrap_of(fresh_stack.broker_url)
        assert await prepare(settings, fresh_stack) == guarantee
        worker = start_worker(settings, fresh_stack, guarantee, 0)
        monitor = TopicMonitor(bootstrap)
        await monitor.start()
        try:
            await replay(bootstrap, path, max_speed=True)
            assert await until(lambda: monitor.counts.orders >= len(backtest), timeout_s=180)
            await drain(monitor, quiet_s=5, limit_s=60)
        finally:
            await monitor.stop()
            terminate(worker.proc.pid, timeout_s=15)
        return await read_topic(bootstrap, "signals"), await read_topic(bootstrap, "orders")

    signals, published = asyncio.run(live())
    # The risk agent decides in log order: the log keeps the merge's event-time order (orders alone may
    # hide a swap of two signals that changed no decision).
    # Price marks (`mark:`) are left out here: a snapshot the merge scored late still sends its mark, which
    # decides nothing but exits; any exit it changed shows in the orders compared below.
    signals = [s for s in signals if not str(s["id"]).startswith("mark:")]
    times = [s["ts_ms"] for s in signals]
    late = [signals[i]["id"] for i in range(1, len(times)) if times[i] < times[i - 1]]
    assert late == [], f"signals behind the one before them on the log: {late}"
    seen: set[str] = set()
    broker = []
    for order in published:  # an order re-published after a restart carries the same id
        if order["id"] not in seen:
            seen.add(order["id"])
            broker.append(_key(order))
    assert len(backtest) >= 5, "the recording should trade"
    assert broker == backtest, "\n".join(
        f"{'  ' if a == b else '! '}{a} | {b}" for a, b in itertools.zip_longest(broker, backtest)
    )
