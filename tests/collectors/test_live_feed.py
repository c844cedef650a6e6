"""`run_live_market` (the feed `MARKET_SOURCE=chain` selects) against a sandbox with traders and a
hand-written fake producer: swaps on raw.swaps, progress records on every partition, a clean stop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from collectors import live, sink
from collectors.feeds import JupiterCollector
from core.settings import Settings
from market import amm
from market.tokens import JUP
from sandbox.world import World, WorldConfig
from solbot import runner
from streams.codec import decode
from streams.records import PROGRESS_KEY, Progress, Swap
from streams.topics import RAW_QUOTES, RAW_SWAPS
from tests.collectors.test_chain_collector import MemorySink
from venues.jupiter.data import JupiterClient


class FakeProducer:
    instances: list[FakeProducer] = []

    def __init__(self, **config: Any) -> None:
        self.sent: list[tuple[str, bytes | None, bytes, int | None]] = []
        self.stopped = False
        FakeProducer.instances.append(self)

    async def start(self) -> None:
        pass

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    async def send(
        self, topic: str, value: bytes, key: bytes | None = None, partition: int | None = None
    ) -> asyncio.Future[None]:
        self.sent.append((topic, key, value, partition))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def flush(self) -> None:
        pass

    async def stop(self) -> None:
        self.stopped = True


@pytest.fixture
async def chain_settings(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Settings]:
    """The settings of a chain market on a sandbox with traders, its producer the recording fake."""
    monkeypatch.setattr(sink, "AIOKafkaProducer", FakeProducer)
    FakeProducer.instances.clear()
    world = World(WorldConfig(slot_s=0.05, traders=2, rate_eps=40.0))
    urls = await world.start()
    try:
        yield Settings(
            solana_rpc_url=urls["SOLANA_RPC_URL"], solana_ws_url=urls["SOLANA_WS_URL"], market_source="chain"
        )
    finally:
        await world.stop()


async def test_the_live_feed_produces_the_chain_swaps_with_progress(chain_settings: Settings) -> None:
    seen: list[int] = []
    started = time.time()
    events = await live.run_live_market("fake:9092", chain_settings, duration_s=2.0, on_progress=seen.append)
    producer = FakeProducer.instances[0]
    assert producer.stopped
    swaps = [decode(Swap, v) for t, k, v, _p in producer.sent if t == RAW_SWAPS.name and k != PROGRESS_KEY]
    assert events == len(swaps) > 0 and seen[-1] <= events
    progress = [(p, decode(Progress, v)) for t, k, v, p in producer.sent if k == PROGRESS_KEY]
    assert {p for p, _ in progress} == {0, 1, 2}
    marks = [rec.ts_ms for p, rec in progress if p == 0]
    assert marks == sorted(marks) and len(marks) >= 3
    # Until the end the promise trails the clock by the lag; the forced last one is the end's time.
    assert started * 1000 - live.DEFAULT_PROGRESS_LAG_MS <= marks[0]
    assert marks[-2] <= time.time() * 1000 - live.DEFAULT_PROGRESS_LAG_MS
    assert marks[-1] >= max(s.ts_ms for s in swaps)  # the last one (forced at the end) passes every swap


async def test_market_source_picks_the_feed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    async def fake_live(bootstrap: str, settings: Settings, **kwargs: Any) -> int:
        calls.append(f"chain {bootstrap}")
        kwargs["on_progress"](5)
        return 5

    async def fake_sim(bootstrap: str, sim: Any, **kwargs: Any) -> int:
        calls.append(f"sim {bootstrap} {sim.seed}")
        return 9

    monkeypatch.setattr(live, "run_live_market", fake_live)
    monkeypatch.setattr("market.feed.run_feed", fake_sim)
    sent = [0]
    assert await runner.market_feed(Settings(market_source="chain"), "b:1", 1.0, 3, 10.0, sent) == 5
    assert sent == [5]
    assert await runner.market_feed(Settings(), "b:1", 1.0, 3, 10.0, sent) == 9
    assert calls == ["chain b:1", "sim b:1 3"]


async def test_jupiter_quotes_and_prices_come_from_the_sandbox_pools() -> None:
    """The Jupiter collector the live market runs (`COLLECT_JUPITER`) against the sandbox's API: quotes
    routed over the pools (JUP/USDC is the Token-2022 one), USD prices from their reserves."""
    world = World(WorldConfig(slot_s=0.05))
    urls = await world.start()
    client = JupiterClient(urls["JUPITER_URL"])
    await client.start()
    memory = MemorySink()
    try:
        collector = JupiterCollector(client, memory, ("SOL/USDC", "JUP/USDC", "BONK/SOL"))
        quotes = {q.pair: q for q in await collector.poll_once()}
    finally:
        await client.close()
        await world.stop()
    assert set(quotes) == {"SOL/USDC", "JUP/USDC", "BONK/SOL"} and len(memory.on(RAW_QUOTES.name)) == 3
    jup_pool = next(s for s in world.pools.pools.values() if s.base_mint == JUP and s.venue == "raydium")
    jup = quotes["JUP/USDC"]
    assert jup.route == ["raydium"] and jup.in_amount == 10**6
    assert jup.out_amount == amm.quote_out(
        10**6, jup_pool.base_reserve, jup_pool.quote_reserve, jup_pool.fee_bps
    )
    assert jup.usd_price_in == pytest.approx(jup_pool.quote_reserve / jup_pool.base_reserve)
    assert jup.usd_price_out == 1.0
    assert quotes["BONK/SOL"].usd_price_out == pytest.approx(150.0)  # SOL, priced by the SOL/USDC route


async def test_a_cancelled_live_feed_still_ends_its_stream_with_progress(chain_settings: Settings) -> None:
    """A run without a duration ends by cancelling the feed; the merges downstream wait out a stall of every
    partition, so without a last progress past every swap the last snapshots and signals would wait for
    a record that never comes (tests/integration/test_live_worker_kills.py lost three decisions so)."""
    feed = asyncio.create_task(live.run_live_market("fake:9092", chain_settings, duration_s=None))
    await asyncio.sleep(2.0)
    feed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await feed
    producer = FakeProducer.instances[0]
    assert producer.stopped
    swaps = [decode(Swap, v) for t, k, v, _p in producer.sent if t == RAW_SWAPS.name and k != PROGRESS_KEY]
    progress = [(p, decode(Progress, v)) for t, k, v, p in producer.sent if k == PROGRESS_KEY]
    assert swaps
    for partition in (0, 1, 2):
        last = [rec.ts_ms for p, rec in progress if p == partition][-1]
        assert last >= max(s.ts_ms for s in swaps)
