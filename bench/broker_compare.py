"""Benchmark: the embedded Apache Kafka against Tansu, same run, same machine; prints one JSON object.

For each broker: start-up (Kafka: cold with the storage format, then a warm restart on the same data),
RSS after start and after the load, raw aiokafka produce and consume throughput (~200-byte JSON values,
one process each way, in turn), one-hop latency at a steady rate with a small and a large fetch wait,
and the broker behaviours that streams/compat/tansu.py works around on Tansu:

- `list_offsets_exact`: ListOffsets(latest) after one 300-record batch is 300 (Tansu: 1);
- `fetch_wait_1ms_delivered`: share of records a 1 ms fetch wait receives under concurrent produce;
- `transactions`: `supports_transactions()` and how long it took;
- `group_join_s`: a consumer's join with session timeouts of 10 s and 60 s.

    .venv/bin/python -m bench.broker_compare [--messages 100000] [--rate 1000] [--seconds 10]
        [--only kafka|tansu] [--jvm "-XX:TieredStopAtLevel=1 ..."]

Brokers run one at a time, in temporary directories, and are stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.broker import start_tansu
from services.kafka import start_kafka
from services.kafka.server import JVM_OPTIONS
from services.process import terminate
from streams.broker import supports_transactions

VALUE = {
    "pair": "SOL/USDC",
    "price": 187.1234,
    "size": 12.5,
    "side": "buy",
    "venue": "raydium",
    "pad": "x" * 90,
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2) if ordered else float("nan")


def rss_mb(pid: int) -> int:
    return round(psutil.Process(pid).memory_info().rss / 2**20)


def heap_mb(pid: int) -> dict[str, float]:
    """The JVM's heap in use, and after a full GC (the live set), from jstat; {} without a JDK's tools."""
    out: dict[str, float] = {}
    for label, collect in (("used", False), ("live", True)):
        try:
            if collect:
                subprocess.run(["jcmd", str(pid), "GC.run"], capture_output=True, timeout=30, check=True)
            lines = subprocess.run(
                ["jstat", "-gc", str(pid)], capture_output=True, text=True, timeout=30, check=True
            ).stdout.split("\n")
        except (OSError, subprocess.SubprocessError):
            return {}
        row = dict(zip(lines[0].split(), lines[1].split(), strict=False))
        out[f"heap_{label}_mb"] = round(sum(float(row[k]) for k in ("S0U", "S1U", "EU", "OU")) / 1024, 1)
        out["metaspace_mb"] = round(float(row["MU"]) / 1024, 1)
    return out


def cpu_s(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


async def make_topic(bootstrap: str, partitions: int = 1) -> str:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()
    await asyncio.sleep(0.2)
    return name


async def throughput(bootstrap: str, n: int, pid: int) -> dict[str, Any]:
    """Produce n records as fast as one producer can, then read them back as fast as one consumer can."""
    topic = await make_topic(bootstrap)
    payload = orjson.dumps(VALUE)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    cpu0 = cpu_s(pid)
    t0 = time.perf_counter()
    try:
        for i in range(n):
            await producer.send(topic, payload, key=b"k%d" % (i % 64), partition=0)
        await producer.flush()
    finally:
        await producer.stop()
    produce_s = time.perf_counter() - t0
    produce_cpu = cpu_s(pid) - cpu0
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
        max_partition_fetch_bytes=4 << 20,
        fetch_max_bytes=16 << 20,
    )
    await consumer.start()
    got = 0
    cpu0 = cpu_s(pid)
    t0 = time.perf_counter()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        deadline = time.monotonic() + 120
        while got < n and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200, max_records=10_000)
            for records in batch.values():
                for record in records:
                    orjson.loads(record.value or b"{}")
                got += len(records)
    finally:
        await consumer.stop()
    consume_s = time.perf_counter() - t0
    return {
        "messages": n,
        "produce_msg_s": round(n / produce_s),
        "consume_msg_s": round(got / consume_s),
        "consumed": got,
        "broker_cpu_s_per_100k_produced": round(produce_cpu / n * 100_000, 2),
        "broker_cpu_s_per_100k_consumed": round((cpu_s(pid) - cpu0) / n * 100_000, 2),
    }


async def one_hop(
    bootstrap: str, rate: float, seconds: float, fetch_wait_ms: int, partitions: int = 1
) -> dict[str, Any]:
    """Send at a steady rate with linger 5 ms; a consumer in the same process records send->receive."""
    topic = await make_topic(bootstrap, partitions)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, fetch_max_wait_ms=fetch_wait_ms)
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    await consumer.seek_to_end()
    for tp in tps:
        await consumer.position(tp)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    n = int(rate * seconds)
    lat: list[float] = []
    done = asyncio.Event()

    async def receive() -> None:
        while len(lat) < n:
            batch = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter_ns()
            for records in batch.values():
                for record in records:
                    lat.append((now - int(record.value or b"0")) / 1e6)
            if done.is_set() and not batch:
                return

    reader = asyncio.create_task(receive())
    t0 = time.perf_counter()
    try:
        for i in range(n):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await producer.send(topic, str(time.perf_counter_ns()).encode(), partition=i % partitions)
        await producer.flush()
        await asyncio.sleep(max(1.0, 3 * fetch_wait_ms / 1000))
        done.set()
        await asyncio.wait_for(reader, 10)
    except TimeoutError:
        reader.cancel()
    finally:
        await producer.stop()
        await consumer.stop()
    return {
        "rate_msg_s": rate,
        "fetch_max_wait_ms": fetch_wait_ms,
        "partitions": partitions,
        "sent": n,
        "delivered": len(lat),
        "p50_ms": pct(lat, 0.50),
        "p99_ms": pct(lat, 0.99),
        "max_ms": pct(lat, 1.0),
    }


async def list_offsets_exact(bootstrap: str) -> dict[str, Any]:
    topic = await make_topic(bootstrap)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=50)
    await producer.start()
    try:
        for i in range(300):  # sent together: one record batch
            await producer.send(topic, b"%d" % i, partition=0)
        await producer.flush()
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        listed = (await consumer.end_offsets([tp]))[tp]
    finally:
        await consumer.stop()
    return {"records": 300, "list_offsets_latest": listed, "exact": listed == 300}


async def group_join(bootstrap: str, session_timeout_s: float) -> float:
    topic = await make_topic(bootstrap)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        session_timeout_ms=int(session_timeout_s * 1000),
        rebalance_timeout_ms=10_000,
        heartbeat_interval_ms=1000,
    )
    t0 = time.perf_counter()
    await consumer.start()
    try:
        while not consumer.assignment() and time.perf_counter() - t0 < 60:
            await consumer.getmany(timeout_ms=50)
        return round(time.perf_counter() - t0, 2)
    finally:
        await consumer.stop()


async def transactions(bootstrap: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    ok = await supports_transactions(bootstrap, timeout_s=10)
    return {"supported": ok, "probe_s": round(time.perf_counter() - t0, 2)}


def measure(kind: str, args: argparse.Namespace, start: Callable[[Path], Any], root: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    handle = start(root)
    try:
        out["startup_s"] = handle.startup_s
        if kind == "kafka":
            out["startup_phases_s"] = handle.phases
            terminate(handle.pid, timeout_s=30)
            handle = start(root)  # warm: same data dir, same port
            out["restart_s"] = handle.startup_s
            out["restart_phases_s"] = handle.phases
        bootstrap = f"127.0.0.1:{handle.port}"
        time.sleep(1.0)
        out["rss_mb_after_start"] = rss_mb(handle.pid)
        out["transactions"] = asyncio.run(transactions(bootstrap))
        out["list_offsets"] = asyncio.run(list_offsets_exact(bootstrap))
        out["group_join_s"] = {"session_10s": asyncio.run(group_join(bootstrap, 10))}
        if kind == "kafka":
            out["group_join_s"]["session_60s"] = asyncio.run(group_join(bootstrap, 60))
        out["throughput"] = asyncio.run(throughput(bootstrap, args.messages, handle.pid))
        out["one_hop"] = [
            asyncio.run(one_hop(bootstrap, args.rate, args.seconds, wait)) for wait in (5, 20, 500)
        ]
        out["fetch_wait_1ms_under_load"] = asyncio.run(one_hop(bootstrap, args.rate, 5, 1, partitions=4))
        out["rss_mb_after_load"] = rss_mb(handle.pid)
        if kind == "kafka":
            out["jvm_after_load"] = heap_mb(handle.pid)
        out["broker_cpu_s_total"] = round(cpu_s(handle.pid), 1)
    finally:
        terminate(handle.pid, timeout_s=30)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--only", choices=("kafka", "tansu"))
    parser.add_argument("--jvm", default="", help="extra JVM options for Kafka, space-separated")
    args = parser.parse_args()
    jvm = [*JVM_OPTIONS, *args.jvm.split()]
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "load1_at_start": round(os.getloadavg()[0], 2)},
        "kafka_jvm": jvm,
    }
    with tempfile.TemporaryDirectory(prefix="broker-compare-") as tmp:
        if args.only in (None, "kafka"):
            result["kafka"] = measure(
                "kafka", args, lambda d: start_kafka(d / "k", jvm_options=jvm), Path(tmp)
            )
        if args.only in (None, "tansu"):
            result["tansu"] = measure("tansu", args, lambda d: start_tansu(d / "t"), Path(tmp))
    result["machine"]["load1_at_end"] = round(os.getloadavg()[0], 2)
    json.dump(result, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
