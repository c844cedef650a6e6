"""ChainCollector: Solana logs notifications (real Pump.fun / Raydium events) -> raw.swaps, raw.launches,
dlq.raw; and one integration run from a local PubSub server to the session broker."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from chain.logs import LoggedEvent
from collectors.chain_collector import ChainCollector
from collectors.metrics import COLLECTOR_LAG
from collectors.sink import KafkaSink
from collectors.solana_ws import SolanaWsClient
from streams.broker import bootstrap_of, create_topics
from streams.codec import decode
from streams.records import DeadLetter, Launch, Swap
from tests.collectors.solana_pubsub_server import PUMP, PubSubServer, eventually
from tests.venues.pumpfun.pump_vectors import CREATE_339_LINE, CREATE_EARLY_LINE, TRADE_129_LINE
from venues.jupiter import decoders as jupiter
from venues.raydium import decoders as raydium

RAY = raydium.PROGRAM_ID
JUP = jupiter.PROGRAM_ID
# The real SwapBaseIn from tests/chain/test_log_walker.py (Jupiter -> Raydium v4 route).
RAY_LOG = "Program log: ray_log: A2SoNgAAAAAAAAAAAAAAAAABAAAAAAAAAB7IPhAIAAAAjEpmligAAACk8vyzBgAAAFoWSgEAAAAA"
FAILED_ERR = {"InstructionError": [0, {"Custom": 6002}]}


def pump_tx(*lines: str) -> list[str]:
    return [f"Program {PUMP} invoke [1]", "Program log: Instruction: Buy", *lines, f"Program {PUMP} success"]


def ray_tx() -> list[str]:
    return [f"Program {RAY} invoke [1]", RAY_LOG, f"Program {RAY} success"]


class MemorySink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[Any]:
        self.sent.append((topic, key, value))
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    def on(self, topic: str) -> list[tuple[bytes, bytes]]:
        return [(k, v) for t, k, v in self.sent if t == topic]


class Harness:
    def __init__(self, server: PubSubServer, collector: ChainCollector, client: SolanaWsClient) -> None:
        self.server, self.collector, self.client = server, collector, client


@pytest.fixture
async def harness() -> AsyncIterator[tuple[Harness, MemorySink]]:
    sink = MemorySink()

    def resolve(ev: LoggedEvent) -> raydium.PoolInfo | None:
        return POOL if ev.signature.startswith("known") else None

    async with PubSubServer() as server:
        client = SolanaWsClient(server.url, stall_s=5)
        collector = ChainCollector(sink, pool_resolver=resolve)
        collector.attach(client)
        server.expect = 5
        task = asyncio.create_task(client.run())
        await asyncio.wait_for(client.connected.wait(), 5)
        try:
            yield Harness(server, collector, client), sink
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task


POOL = raydium.PoolInfo(
    address="58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2",
    coin_mint="So11111111111111111111111111111111111111112",
    pc_mint="EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
    coin_decimals=9,
    pc_decimals=6,
    pair="SOL/USDC",
)


async def test_subscribes_slots_and_one_logs_subscription_per_program(
    harness: tuple[Harness, MemorySink],
) -> None:
    h, _ = harness
    logs = [r["params"][0] for r in h.server.requests if r["method"] == "logsSubscribe"]
    assert logs == [
        {"mentions": [PUMP]},
        {"mentions": [RAY]},
        {"mentions": ["CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C"]},
        {"mentions": [JUP]},
    ]
    assert h.server.requests[0]["method"] == "slotSubscribe"


async def test_pumpfun_trade_becomes_a_swap(harness: tuple[Harness, MemorySink]) -> None:
    h, sink = harness
    before = COLLECTOR_LAG.labels("chain")._sum.get()  # type: ignore[attr-defined]
    await h.server.notify_logs(PUMP, signature="sigT", logs=pump_tx(TRADE_129_LINE), slot=309_000_001)
    await eventually(lambda: h.collector.stats.swaps == 1)
    [(key, value)] = sink.on("raw.swaps")
    swap = decode(Swap, value)
    assert key == b"7R4zU5/SOL" and swap.pair == "7R4zU5/SOL"
    assert (swap.venue, swap.side, swap.slot, swap.signature) == ("pumpfun", "buy", 309_000_001, "sigT")
    assert swap.base_amount == 37_809_162_736_217 and swap.quote_amount == 1_253_951_806
    assert swap.ts_ms == 1_734_616_564_000  # the event's own clock: block time
    assert swap.received_ms >= swap.ts_ms
    assert COLLECTOR_LAG.labels("chain")._sum.get() > before  # type: ignore[attr-defined]


async def test_failed_transactions_are_skipped_and_counted(harness: tuple[Harness, MemorySink]) -> None:
    h, sink = harness
    await h.server.notify_logs(PUMP, signature="bad", logs=pump_tx(TRADE_129_LINE), slot=1, err=FAILED_ERR)
    await h.server.notify_logs(PUMP, signature="good", logs=pump_tx(TRADE_129_LINE), slot=2)
    await eventually(lambda: h.collector.stats.swaps == 1)
    assert h.collector.stats.failed_tx == 1
    assert [decode(Swap, v).signature for _, v in sink.on("raw.swaps")] == ["good"]


async def test_one_transaction_seen_by_two_subscriptions_is_one_record(
    harness: tuple[Harness, MemorySink],
) -> None:
    h, sink = harness
    logs = [f"Program {JUP} invoke [1]", *[line.replace("[1]", "[2]") for line in pump_tx(TRADE_129_LINE)]]
    logs.append(f"Program {JUP} success")
    await h.server.notify_logs(PUMP, signature="routed", logs=logs, slot=3)
    await h.server.notify_logs(JUP, signature="routed", logs=logs, slot=3)
    await eventually(lambda: h.collector.stats.notifications == 2)
    assert h.collector.stats.swaps == 1 and h.collector.stats.duplicates == 1
    assert len(sink.on("raw.swaps")) == 1


async def test_create_becomes_a_launch_and_names_later_trades(harness: tuple[Harness, MemorySink]) -> None:
    h, sink = harness
    await h.server.notify_logs(PUMP, signature="c1", logs=pump_tx(CREATE_339_LINE), slot=7)
    await eventually(lambda: h.collector.stats.launches == 1)
    [(key, value)] = sink.on("raw.launches")
    launch = decode(Launch, value)
    assert key == b"5N6gKmP1riGaXxYCyv3g8oncnKVayfd4mZsU49TNAn6k" and launch.symbol == "sealy"
    assert (launch.slot, launch.ts_ms, launch.virtual_quote_reserve) == (7, 1_785_782_391_000, 30_000_000_000)


async def test_undecodable_events_go_to_the_dead_letter_topic(harness: tuple[Harness, MemorySink]) -> None:
    h, sink = harness
    await h.server.notify_logs(PUMP, signature="early", logs=pump_tx(CREATE_EARLY_LINE), slot=8)
    await h.server.notify_logs(PUMP, signature="junk", logs=pump_tx("Program data: vdt/007mYe4AAA=="), slot=9)
    await h.server.send_raw(
        orjson.dumps(
            {
                "jsonrpc": "2.0",
                "method": "logsNotification",
                "params": {
                    "result": {"context": {"slot": 10}, "value": {"err": None}},
                    "subscription": h.server.sub_id("logsSubscribe", PUMP),
                },
            }
        ).decode()
    )
    await eventually(lambda: h.collector.stats.dead_letters == 3)
    letters = [(k, decode(DeadLetter, v)) for k, v in sink.on("dlq.raw")]
    assert all(k == b"solana.logs" and d.agent == "chain_collector" for k, d in letters)
    early, junk, shapeless = (d for _, d in letters)
    assert "early layout" in early.reason
    assert "TradeEvent" in junk.reason
    assert "without signature or logs" in shapeless.reason
    original = orjson.loads(base64.b64decode(early.value_b64))
    assert original["params"]["result"]["value"]["signature"] == "early"
    assert sink.on("raw.swaps") == [] and sink.on("raw.launches") == []


async def test_raydium_swaps_need_their_pool(harness: tuple[Harness, MemorySink]) -> None:
    h, sink = harness
    await h.server.notify_slot(500)
    await eventually(lambda: h.collector.stats.slots == 1)
    await h.server.notify_logs(RAY, signature="unknown-pool", logs=ray_tx(), slot=500)
    await h.server.notify_logs(RAY, signature="known-pool", logs=ray_tx(), slot=500)
    await eventually(lambda: h.collector.stats.notifications == 2)
    assert h.collector.stats.unattributed == 1 and h.collector.stats.swaps == 1
    [(key, value)] = sink.on("raw.swaps")
    swap = decode(Swap, value)
    assert key == b"SOL/USDC" and swap.pool == POOL.address
    # no clock in a ray_log: the time this collector first saw slot 500
    assert swap.ts_ms == h.collector.slot_time_ms(500, 10**15) <= swap.received_ms
    assert h.collector.slot_time_ms(501, 123) == 123  # a slot never seen: the receipt time
    assert h.collector.slot_time_ms(500, 5) == 5  # never later than the receipt


@pytest.mark.integration
async def test_local_pubsub_to_the_broker_raw_swaps(broker_url: str) -> None:
    """A logs notification from a local server ends up on the session broker's raw.swaps."""
    bootstrap = bootstrap_of(broker_url)
    await create_topics(bootstrap, 4)
    signature = f"it-{uuid.uuid4().hex}"
    sink = KafkaSink(bootstrap)
    await sink.start()
    delivered: list[str] = []
    try:
        async with PubSubServer() as server:
            client = SolanaWsClient(server.url, stall_s=5)
            collector = ChainCollector(sink, on_delivered=lambda sig, _s: delivered.append(sig))
            collector.attach(client)
            server.expect = 5
            task = asyncio.create_task(client.run())
            try:
                await asyncio.wait_for(client.connected.wait(), 10)
                await server.notify_logs(PUMP, signature=signature, logs=pump_tx(TRADE_129_LINE), slot=42)
                await eventually(lambda: delivered == [signature], timeout_s=15)
            finally:
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
    finally:
        await sink.stop()

    consumer = AIOKafkaConsumer(
        "raw.swaps", bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        found = None
        deadline = asyncio.get_running_loop().time() + 20
        while found is None and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                for m in messages:
                    if m.key == b"7R4zU5/SOL" and signature.encode() in (m.value or b""):
                        found = decode(Swap, m.value)
        assert found is not None, "record not found on raw.swaps"
        assert (found.signature, found.slot, found.venue) == (signature, 42, "pumpfun")
    finally:
        await consumer.stop()


async def test_the_raydium_emitter_stops_when_cancelled_and_survives_a_failed_lookup() -> None:
    """Cancelling the emitter cancels the lookup it awaits: it once took that for the lookup's own
    cancellation, went on waiting for the next swap, and the event loop's shutdown waited for it forever
    (the live kill test hung in teardown). A lookup that fails with any error (its client closed under a
    shutdown) is counted, not fatal: an emitter that died would leave `drain` waiting."""
    from types import SimpleNamespace

    collector = ChainCollector(MemorySink())
    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def closed_client() -> None:
        raise RuntimeError("Cannot send a request, as the client has been closed.")

    emitter = asyncio.create_task(collector._emit_resolved(queue))
    queue.put_nowait((asyncio.create_task(closed_client()), SimpleNamespace(signature="s1"), None))
    await asyncio.wait_for(queue.join(), 2)
    assert collector.stats.resolve_failed == 1 and not emitter.done()
    queue.put_nowait((asyncio.create_task(asyncio.sleep(3600)), SimpleNamespace(signature="s2"), None))
    await asyncio.sleep(0.05)  # the emitter awaits the lookup
    emitter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(emitter, 2)
