"""Benchmark: Solana logs notification -> record on raw.swaps, on the embedded broker (not a pytest test).

A local PubSub server (Solana's wire format) sends N logsNotifications carrying a real Pump.fun
TradeEvent, each with a unique signature, at a steady rate; the real SolanaWsClient + ChainCollector +
KafkaSink produce them to raw.swaps. Two latencies per notification, both from the server's send:

- acked:    the broker acknowledged the produced record (it is in the topic);
- consumed: a consumer tailing raw.swaps received it (adds the consumer's fetch wait);
and the collector's own share, `enqueued`: until the record was handed to the producer.

    PYTHONPATH=. python bench/collector_lag.py [--n 2000] [--rate 400] [--linger-ms 5]

BENCH_DEBUG=1 also prints which notifications were slow to enqueue (index, ms). Uses BROKER_URL when
set, else starts an embedded broker in a temporary directory and stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "venues" / "pumpfun"))
from pump_vectors import TRADE_129_LINE

from collectors.chain_collector import OUTPUT_TOPICS as COLLECTOR_OUTPUTS
from collectors.chain_collector import ChainCollector
from collectors.sink import KafkaSink
from collectors.solana_ws import SolanaWsClient
from services.broker import start_broker
from services.process import terminate
from streams.broker import bootstrap_of, create_topics
from streams.broker_auth import NO_AUTH, BrokerAuth
from streams.inspect import broker_partitions
from venues.pumpfun.schemas import PROGRAM_ID as PUMP

LOGS = [
    f"Program {PUMP} invoke [1]",
    "Program log: Instruction: Buy",
    TRADE_129_LINE,
    f"Program {PUMP} success",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench(
    bootstrap: str, n: int, rate: float, linger_ms: int, auth: BrokerAuth = NO_AUTH
) -> dict[str, object]:
    await create_topics(bootstrap, 4, auth)
    sent_ns: dict[str, int] = {}
    acked_ms: dict[str, float] = {}
    consumed_ms: dict[str, float] = {}
    subs: dict[str, int] = {}
    conn_ready = asyncio.Event()
    conns: list[ServerConnection] = []
    ids = itertools.count(1)

    async def handle(conn: ServerConnection) -> None:
        conns.append(conn)
        try:
            async for frame in conn:
                msg = orjson.loads(frame)
                sub_id = next(ids)
                params = msg["params"]
                subs[params[0]["mentions"][0] if params else "slots"] = sub_id
                await conn.send(orjson.dumps({"jsonrpc": "2.0", "result": sub_id, "id": msg["id"]}).decode())
        except ConnectionClosed:
            pass  # the client going away at the end of the run

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=5, **auth
    )
    await consumer.start()
    parts = await broker_partitions(consumer, ["raw.swaps"])
    consumer.assign(parts)
    await consumer.seek_to_end(*parts)

    async def tail() -> None:
        while len(consumed_ms) < n:
            batches = await consumer.getmany(timeout_ms=100)
            now = time.monotonic_ns()
            for messages in batches.values():
                for m in messages:
                    sig = orjson.loads(m.value)["signature"]
                    if sig in sent_ns and sig not in consumed_ms:
                        consumed_ms[sig] = (now - sent_ns[sig]) / 1e6

    enqueued_ms: dict[str, float] = {}
    kafka = KafkaSink(bootstrap, linger_ms=linger_ms, topics=COLLECTOR_OUTPUTS, auth=auth)
    await kafka.start()

    class TimedSink:
        """The collector's own share: notification sent -> record handed to the producer."""

        async def send(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[Any]:
            fut = await kafka.send(topic, key, value)
            sig = orjson.loads(value).get("signature")
            if sig in sent_ns:
                enqueued_ms[sig] = (time.monotonic_ns() - sent_ns[sig]) / 1e6
            return fut

    sink = TimedSink()

    def delivered(signature: str, _seconds: float) -> None:
        acked_ms[signature] = (time.monotonic_ns() - sent_ns[signature]) / 1e6

    server = await serve(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = SolanaWsClient(f"ws://127.0.0.1:{port}", stall_s=30)
    collector = ChainCollector(sink, on_delivered=delivered)
    collector.attach(client)
    ws_task = asyncio.create_task(client.run())
    tail_task = asyncio.create_task(tail())
    try:
        await asyncio.wait_for(client.connected.wait(), 10)
        conn_ready.set()
        conn = conns[-1]
        sub_id = subs[PUMP]
        interval = 1 / rate
        start = time.monotonic()
        for i in range(n):
            target = start + i * interval
            delay = target - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sig = f"bench-{os.getpid()}-{i}"
            value = {"signature": sig, "err": None, "logs": LOGS}
            frame = {
                "jsonrpc": "2.0",
                "method": "logsNotification",
                "params": {
                    "result": {"context": {"slot": 300_000_000 + i}, "value": value},
                    "subscription": sub_id,
                },
            }
            text = orjson.dumps(frame).decode()
            sent_ns[sig] = time.monotonic_ns()
            await conn.send(text)
        deadline = time.monotonic() + 30
        while (len(acked_ms) < n or len(consumed_ms) < n) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    finally:
        ws_task.cancel()
        tail_task.cancel()
        for task in (ws_task, tail_task):
            try:
                await task
            except asyncio.CancelledError:
                pass
        await kafka.stop()
        await consumer.stop()
        server.close()
        await server.wait_closed()

    if os.environ.get("BENCH_DEBUG"):
        order = sorted(enqueued_ms, key=lambda sig: sent_ns[sig])
        slow = [(i, round(enqueued_ms[sig])) for i, sig in enumerate(order) if enqueued_ms[sig] > 20]
        print(f"slow enqueues (index, ms): {slow[:15]} ... {slow[-5:]} ({len(slow)})", file=sys.stderr)

    def summary(values: list[float]) -> dict[str, float]:
        if not values:
            return {}
        return {
            "n": len(values),
            "p50_ms": round(statistics.median(values), 2),
            "p99_ms": round(pct(values, 0.99), 2),
            "max_ms": round(max(values), 2),
        }

    return {
        "load_average_1m": round(os.getloadavg()[0], 2),  # this machine is shared: read tails with it
        "notifications": n,
        "rate_per_s": rate,
        "producer_linger_ms": linger_ms,
        "enqueued": summary(list(enqueued_ms.values())),
        "acked": summary(list(acked_ms.values())),
        "consumed": summary(list(consumed_ms.values())),
        "collector": {"swaps": collector.stats.swaps, "dead_letters": collector.stats.dead_letters},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=400.0, help="notifications per second")
    parser.add_argument("--linger-ms", type=int, default=5, help="producer linger (PRODUCER_LINGER_MS)")
    args = parser.parse_args()
    broker_url = os.environ.get("BROKER_URL")
    handle = None
    with tempfile.TemporaryDirectory(prefix="bench-collector-") as tmp:
        if not broker_url:
            handle = start_broker(Path(tmp))
            broker_url = handle.url
        try:
            result = asyncio.run(bench(bootstrap_of(broker_url), args.n, args.rate, args.linger_ms))
        finally:
            if handle is not None:
                terminate(handle.pid)
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    acked = result["acked"]
    ok = isinstance(acked, dict) and acked.get("n") == args.n and acked.get("p99_ms", 1e9) < 20
    print(f"target p99 < 20 ms (notification -> acked on raw.swaps): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
