"""`make bench`: every figure measured in one run on this machine, so the ratios hold on a noisy one.

Sections: the broker's own limit (raw aiokafka), the pipeline's sustained throughput on one worker and
a naive Faust agent's on the same input, tick-to-order latency at 1,000 and 5,000 raw events/s, the
paper venue's decision-to-fill time, per-event model and risk costs, worker memory, and the
exactly-once cost (only on a broker with transactions). A readable table first, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.chaos import CHAOS_ENV
from bench.collector_lag import bench as collector_lag
from services.process import free_port, spawn, terminate
from services.stack import Stack
from solbot.monitor import TopicMonitor
from solbot.runner import prepare, start_worker
from solbot.settings import Settings, load_settings
from streams.broker_compat import bootstrap_of, create_topics, supports_transactions


def _pcts(xs: list[float]) -> dict[str, float]:
    if not xs:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0, "n": 0}
    a = np.asarray(xs)
    return {
        "p50": round(float(np.percentile(a, 50)), 2),
        "p99": round(float(np.percentile(a, 99)), 2),
        "max": round(float(a.max()), 2),
        "n": len(xs),
    }


def _settings(data_dir: Path) -> Settings:
    os.environ.update({k: v for k, v in CHAOS_ENV.items() if not k.startswith(("SESSION", "REBALANCE"))})
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    return load_settings(data_dir=data_dir)


async def broker_limit(bootstrap: str, n: int = 30_000) -> dict[str, float]:
    """Raw aiokafka: N ~200-byte JSON messages produced and consumed; then one hop at 1,000 msg/s."""
    topic = f"bench-limit-{int(time.time())}"
    value = orjson.dumps({"pair": "SOL/USDC", "venue": "raydium", "amount": 123456789, "pad": "x" * 120})
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", fetch_max_wait_ms=15, group_id=None
    )
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks=1)
    await producer.start()
    got = 0
    started = time.perf_counter()

    async def consume() -> None:
        nonlocal got
        while got < n:
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            for records in batches.values():
                for rec in records:
                    orjson.loads(rec.value or b"{}")
                got += len(records)

    reader = asyncio.create_task(consume())
    futures = [await producer.send(topic, value) for _ in range(n)]
    await asyncio.gather(*futures)
    await asyncio.wait_for(reader, 120)
    throughput = n / (time.perf_counter() - started)
    # One hop at 1,000 msg/s: send time in the value, receive time at the consumer.
    hop_topic = topic + "-hop"
    hop_consumer = AIOKafkaConsumer(
        hop_topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=15,
        group_id=None,
    )
    await hop_consumer.start()
    lat: list[float] = []

    async def hop_reader(total: int) -> None:
        while len(lat) < total:
            batches = await hop_consumer.getmany(timeout_ms=200)
            now = time.time()
            for records in batches.values():
                lat.extend((now - orjson.loads(r.value or b"0")) * 1000 for r in records)

    total = 5_000
    reader2 = asyncio.create_task(hop_reader(total))
    t0 = time.perf_counter()
    for i in range(total):
        await producer.send(hop_topic, orjson.dumps(time.time()))
        delay = t0 + (i + 1) / 1000 - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    await asyncio.wait_for(reader2, 60)
    await producer.stop()
    await consumer.stop()
    await hop_consumer.stop()
    hop = _pcts(lat)
    return {"msgs_per_s": round(throughput), "hop_p50_ms": hop["p50"], "hop_p99_ms": hop["p99"]}


async def _feed_fast(bootstrap: str, seed: int, events: int) -> float:
    """Produce `events` raw events as fast as possible; returns when the first was sent (perf clock)."""
    from market.simulator import MarketSimulator
    from streams.codec import encode

    sim = MarketSimulator(seed=seed, rate_eps=1000, start_ms=int(time.time() * 1000))
    payloads = []
    for ev in sim.events():
        topic = "raw.swaps" if hasattr(ev, "pair") else "raw.launches"
        key = (ev.pair if hasattr(ev, "pair") else ev.mint).encode()  # type: ignore[union-attr]
        payloads.append((topic, key, encode(ev)))
        if len(payloads) >= events:
            break
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks=1)
    await producer.start()
    started = time.perf_counter()
    futures = [await producer.send(t, v, key=k) for t, k, v in payloads]
    await asyncio.gather(*futures)
    await producer.stop()
    return started


async def _until_count(url: str, key: str, target: int, timeout_s: float) -> float:
    async with httpx.AsyncClient() as client:
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            try:
                body = (await client.get(url)).json()
                if _dig(body, key) >= target:
                    return time.perf_counter()
            except (httpx.HTTPError, ValueError):
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} never reached {target}")


def _dig(body: dict[str, Any], key: str) -> int:
    node: Any = body
    for part in key.split("/"):
        node = node.get(part, 0) if isinstance(node, dict) else 0
    if isinstance(node, list | dict):
        return len(node)
    return int(node or 0)


async def _ready(url: str, key: str, timeout_s: float = 90) -> None:
    await _until_count(url, key, 1, timeout_s)


async def pipeline_throughput(root: Path, seed: int, events: int) -> dict[str, float]:
    """Sustained raw events/s through the whole pipeline on one worker, and the naive agent's."""
    out: dict[str, float] = {}
    settings = _settings(root / "pipeline")
    with Stack(settings) as stack:
        guarantee = await prepare(settings, stack)
        worker = start_worker(settings, stack, guarantee, 0)
        status = f"http://127.0.0.1:{worker.web_port}/status/"
        try:
            await _ready(status, "partitions/raw.swaps")
            await asyncio.sleep(2)
            started = await _feed_fast(bootstrap_of(stack.broker_url), seed, events)
            done = await _until_count(status, "received_by_topic/raw.swaps", events, 300)
            out["events_per_s"] = round(events / (done - started))
            out["rss_mb"] = round(psutil.Process(worker.proc.pid).memory_info().rss / 2**20, 1)
        finally:
            terminate(worker.proc.pid, timeout_s=15)
    settings = _settings(root / "naive")
    with Stack(settings) as stack:
        await create_topics(bootstrap_of(stack.broker_url), settings.topic_partitions)
        port = free_port()
        env = dict(
            os.environ,
            BROKER_URL=stack.broker_url,
            WORKER_WEB_PORT=str(port),
            DATA_DIR=str(root / "naive-data"),
        )
        proc = spawn(
            [sys.executable, "-m", "bench.naive_app", "worker", "-l", "warn"],
            log_path=root / "naive.log",
            detached=False,
            env=env,
        )
        count = f"http://127.0.0.1:{port}/count/"
        try:
            await _ready(count, "partitions")
            await asyncio.sleep(2)
            started = await _feed_fast(bootstrap_of(stack.broker_url), seed, events)
            done = await _until_count(count, "processed", events, 600)
            out["naive_events_per_s"] = round(events / (done - started))
        finally:
            terminate(proc.pid, timeout_s=15)
    return out


async def latency_at(root: Path, seed: int, rate: float, duration_s: float) -> dict[str, Any]:
    """Tick-to-order latency at a raw event rate, and the paper venue's order-to-fill time."""
    from market.feed import run_feed
    from market.simulator import MarketSimulator

    settings = _settings(root / f"latency-{int(rate)}")
    with Stack(settings) as stack:
        guarantee = await prepare(settings, stack)
        worker = start_worker(settings, stack, guarantee, 0)
        bootstrap = bootstrap_of(stack.broker_url)
        monitor = TopicMonitor(bootstrap)
        await monitor.start()
        try:
            await _ready(f"http://127.0.0.1:{worker.web_port}/status/", "partitions/raw.swaps")
            sim = MarketSimulator(seed=seed, rate_eps=rate, start_ms=int(time.time() * 1000))
            rss_half = 0.0
            feed = asyncio.create_task(run_feed(bootstrap, sim, duration_s=duration_s, realtime=True))
            await asyncio.sleep(duration_s / 2)
            rss_half = psutil.Process(worker.proc.pid).memory_info().rss / 2**20
            await feed
            await asyncio.sleep(3)
            rss_end = psutil.Process(worker.proc.pid).memory_info().rss / 2**20
        finally:
            await monitor.stop()
            terminate(worker.proc.pid, timeout_s=15)
    c = monitor.counts
    return {
        **_pcts(c.latencies_ms),
        "fill_ms": _pcts(c.fill_latencies_ms),
        "orders": c.orders,
        "rss_mb_half": round(rss_half, 1),
        "rss_mb_end": round(rss_end, 1),
    }


def model_and_risk_us() -> dict[str, Any]:
    """Per-event cost of the model step (predict + learn per snapshot) and of one risk decision."""
    import random

    from agents.feature_maths import FEATURE_NAMES
    from models.online import DelayedLabeler, OnlineModel

    model_us: dict[str, float] = {}
    for kind, n in (("linear", 3_000), ("tree", 500)):  # MODEL_KIND; trees cost more, so fewer
        rng = random.Random(1)
        labeler = DelayedLabeler(OnlineModel(warmup=20, kind=kind), label_horizon_ms=2_000)
        xs = [{name: rng.gauss(0, 1) for name in FEATURE_NAMES} for _ in range(n)]
        price = 100.0
        t0 = time.perf_counter()
        for i, x in enumerate(xs):
            price *= 1 + rng.gauss(0, 1e-3)
            labeler.on_snapshot(i * 250, price, x)
        model_us[kind] = round((time.perf_counter() - t0) / len(xs) * 1e6, 1)
    return {"model_us": model_us, "risk_us": round(_risk_us(), 1)}


def _risk_us() -> float:
    from agents.risk import apply_message, limits
    from agents.risk_rules import RiskState
    from market.tokens import USDC, WSOL
    from streams.codec import encode
    from streams.records import PoolState, Signal

    state = RiskState.initial("main", limits, WSOL, USDC)
    pool = PoolState(
        venue="raydium",
        pool="P",
        base_mint=WSOL,
        quote_mint=USDC,
        base_decimals=9,
        quote_decimals=6,
        base_reserve=20_000 * 10**9,
        quote_reserve=3_000_000 * 10**6,
        fee_bps=25,
    )
    raws = [
        encode(
            Signal(
                id=f"sig:{i}",
                pair="SOL/USDC",
                ts_ms=i,
                origin_ms=i,
                price=150.0,
                direction=1 if i % 2 else -1,
                confidence=0.9,
                expected_return=0.01,
                horizon_ms=10_000,
                volatility=1e-4,
                model="m",
                strategy="s",
                pools=[pool],
            )
        )
        for i in range(2_000)
    ]
    t0 = time.perf_counter()
    for i, raw in enumerate(raws):
        apply_message(state, "signals", 0, i, raw, now_ms=i)
    return (time.perf_counter() - t0) / len(raws) * 1e6


async def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--events", type=int, default=60_000, help="raw events for the throughput runs")
    p.add_argument("--latency-seconds", type=float, default=40.0)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="solbot-bench-") as tmp:
        root = Path(tmp)
        settings = _settings(root / "broker")
        with Stack(settings) as stack:
            broker = await broker_limit(bootstrap_of(stack.broker_url))
            bootstrap = bootstrap_of(stack.broker_url)
            eos_possible = await supports_transactions(bootstrap)
            lag = await collector_lag(bootstrap, 1000, 400.0, settings.producer_linger_ms)
        _progress("collector lag", lag)
        _progress("broker", broker)
        throughput = await pipeline_throughput(root, args.seed, args.events)
        _progress("throughput", throughput)
        lat1k = await latency_at(root, args.seed, 1000, args.latency_seconds)
        _progress("latency at 1000/s", lat1k)
        lat5k = await latency_at(root, args.seed, 5000, args.latency_seconds)
        _progress("latency at 5000/s", lat5k)
    costs = model_and_risk_us()
    _progress("costs", costs)
    backtest = _backtest_events_per_s()
    result = {
        "broker": broker,
        "pipeline": {
            "events_per_s": throughput["events_per_s"],
            "ratio_to_broker": round(throughput["events_per_s"] / broker["msgs_per_s"], 3),
            "naive_events_per_s": throughput["naive_events_per_s"],
            "ratio_to_naive": round(throughput["events_per_s"] / throughput["naive_events_per_s"], 2),
        },
        "latency_ms": {
            "1000": {k: lat1k[k] for k in ("p50", "p99", "max", "n")},
            "5000": {k: lat5k[k] for k in ("p50", "p99", "max", "n")},
        },
        "decision_to_fill_ms": {"1000": lat1k["fill_ms"], "5000": lat5k["fill_ms"]},
        "backtest_events_per_s": backtest,
        # Solana WebSocket notification -> raw.swaps record (bench/collector_lag.py), acked and consumed.
        "collector_lag_ms": {k: lag[k] for k in ("acked", "consumed", "load_average_1m")},
        **costs,
        "rss_mb": {
            "after_throughput_run": throughput["rss_mb"],
            "5000_half": lat5k["rss_mb_half"],
            "5000_end": lat5k["rss_mb_end"],
        },
        "eos": None if not eos_possible else "set BROKER_URL to a transactional broker to measure",
    }
    _table(result)
    print(json.dumps(result))
    return 0


def _backtest_events_per_s() -> float | None:
    """Raw events/s through `solbot backtest` on the shipped sample, when both exist."""
    sample = Path(__file__).resolve().parent.parent / "samples" / "sim-seed1.jsonl.gz"
    from backtest.engine import run_file

    if not sample.exists():
        return None
    result = run_file(sample, load_settings(), seed=1)
    return round(result.events / result.elapsed_s)


def _progress(section: str, figures: dict[str, Any]) -> None:
    print(f"[bench] {section}: {json.dumps(figures)}", file=sys.stderr, flush=True)


def _table(r: dict[str, Any]) -> None:
    rows = [
        ("broker limit (aiokafka produce->consume)", f"{r['broker']['msgs_per_s']:,} msg/s"),
        (
            "broker one hop at 1,000 msg/s",
            f"p50 {r['broker']['hop_p50_ms']} ms, p99 {r['broker']['hop_p99_ms']} ms",
        ),
        (
            "pipeline, one worker",
            f"{r['pipeline']['events_per_s']:,} raw events/s "
            f"({r['pipeline']['ratio_to_broker']:.1%} of the broker)",
        ),
        (
            "naive Faust agent",
            f"{r['pipeline']['naive_events_per_s']:,} events/s "
            f"(pipeline = {r['pipeline']['ratio_to_naive']}x)",
        ),
        ("tick-to-order at 1,000 ev/s", _lat(r["latency_ms"]["1000"])),
        ("tick-to-order at 5,000 ev/s", _lat(r["latency_ms"]["5000"])),
        ("order-to-fill (paper) at 1,000", _lat(r["decision_to_fill_ms"]["1000"])),
        (
            "backtest",
            f"{r['backtest_events_per_s']} events/s" if r["backtest_events_per_s"] else "not available",
        ),
        ("model (linear) per snapshot", f"{r['model_us']['linear']} us"),
        ("model (tree) per snapshot", f"{r['model_us'].get('tree', 'n/a')} us"),
        ("risk decision", f"{r['risk_us']} us"),
        ("worker RSS", f"{r['rss_mb']}"),
        ("exactly-once cost", "not measured (broker has no transactions)" if r["eos"] is None else r["eos"]),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


def _lat(d: dict[str, Any]) -> str:
    return f"p50 {d['p50']} ms, p99 {d['p99']} ms, max {d['max']} ms (n={d['n']})"


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
