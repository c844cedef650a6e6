"""`make bench`: every figure measured in one run on this machine, so the ratios hold on a noisy one.

Sections: the broker's own limit (raw aiokafka), the pipeline's sustained throughput on one worker and
a naive Faust agent's on the same input, tick-to-order latency at 1,000 and 5,000 raw events/s, the
paper venue's decision-to-fill time, per-event model and risk costs, worker memory. Those figures are
at-least-once + idempotency; the `guarantees` section measures the same under exactly-once (key
`exactly_once`, with its cost against at-least-once under `eos`) and Tansu's at-least-once (`tansu`)
beside them, and `--commit-intervals` sweeps COMMIT_INTERVAL_S under exactly-once. A readable table
first, then one JSON line.
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
from bench.contention import CpuHog, contention_figures, contention_rows, hogging
from bench.guarantees import (
    Case,
    case_env,
    committed_hop,
    cost_of_exactly_once,
    measure,
    sweep_rows,
    table_rows,
    tansu_available,
)
from bench.hops import hop_breakdown
from bench.scale_out import scale_out, scale_out_rows, settings_factory
from core.settings import Settings, load_settings
from services.process import free_port, spawn, terminate
from services.stack import Stack
from solbot.monitor import TopicMonitor
from solbot.runner import prepare, start_worker
from streams.broker import bootstrap_of, create_topics, supports_transactions
from streams.broker_auth import NO_AUTH, BrokerAuth, broker_auth


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


def _auth(stack: Stack) -> BrokerAuth:
    """The sign-in of the stack's broker (SASL on the embedded Kafka), for the bench's own clients."""
    return broker_auth(stack.settings, stack.broker_url)


async def broker_limit(bootstrap: str, n: int = 30_000, auth: BrokerAuth = NO_AUTH) -> dict[str, float]:
    """Raw aiokafka: N ~200-byte JSON messages produced and consumed; then one hop at 1,000 msg/s."""
    topic = f"bench-limit-{int(time.time())}"
    value = orjson.dumps({"pair": "SOL/USDC", "venue": "raydium", "amount": 123456789, "pad": "x" * 120})
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=15,
        group_id=None,
        **auth,
    )
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks=1, **auth)
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
        **auth,
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


async def _feed_fast(bootstrap: str, seed: int, events: int, auth: BrokerAuth = NO_AUTH) -> float:
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
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks=1, **auth)
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


async def pipeline_throughput(
    root: Path, seed: int, events: int, hog: CpuHog | None = None
) -> dict[str, float]:
    """Sustained raw events/s through the whole pipeline on one worker, and the naive agent's."""
    out = await pipeline_events_per_s(root, seed, events, hog)
    out["naive_events_per_s"] = await naive_events_per_s(root, seed, events, hog)
    return out


async def pipeline_events_per_s(
    root: Path, seed: int, events: int, hog: CpuHog | None = None
) -> dict[str, float]:
    """Sustained raw events/s through the whole pipeline on one worker, and its RSS after."""
    out: dict[str, float] = {}
    settings = _settings(root / "pipeline")
    with Stack(settings) as stack:
        guarantee = await prepare(settings, stack)
        worker = start_worker(settings, stack, guarantee, 0)
        status = f"http://127.0.0.1:{worker.web_port}/status/"
        try:
            await _ready(status, "partitions/raw.swaps")
            await asyncio.sleep(2)
            with hogging(hog):
                started = await _feed_fast(bootstrap_of(stack.broker_url), seed, events, _auth(stack))
                done = await _until_count(status, "received_by_topic/raw.swaps", events, 300)
            out["events_per_s"] = round(events / (done - started))
            out["rss_mb"] = round(psutil.Process(worker.proc.pid).memory_info().rss / 2**20, 1)
        finally:
            terminate(worker.proc.pid, timeout_s=15)
    return out


async def naive_events_per_s(root: Path, seed: int, events: int, hog: CpuHog | None = None) -> float:
    """The naive Faust agent's events/s on the same input (bench/naive_app.py)."""
    settings = _settings(root / "naive")
    with Stack(settings) as stack:
        await create_topics(bootstrap_of(stack.broker_url), settings.topic_partitions, _auth(stack))
        port = free_port()
        env = dict(
            os.environ,
            **stack.env(),
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
            with hogging(hog):
                started = await _feed_fast(bootstrap_of(stack.broker_url), seed, events, _auth(stack))
                done = await _until_count(count, "processed", events, 600)
            return round(events / (done - started))
        finally:
            terminate(proc.pid, timeout_s=15)


async def latency_at(
    root: Path, seed: int, rate: float, duration_s: float, hog: CpuHog | None = None
) -> dict[str, Any]:
    """Tick-to-order latency at a raw event rate, and the paper venue's order-to-fill time."""
    from market.feed import run_feed
    from market.simulator import MarketSimulator

    settings = _settings(root / f"latency-{int(rate)}")
    with Stack(settings) as stack:
        guarantee = await prepare(settings, stack)
        worker = start_worker(settings, stack, guarantee, 0)
        bootstrap = bootstrap_of(stack.broker_url)
        monitor = TopicMonitor(bootstrap, auth=_auth(stack))
        await monitor.start()
        try:
            await _ready(f"http://127.0.0.1:{worker.web_port}/status/", "partitions/raw.swaps")
            with hogging(hog):
                sim = MarketSimulator(seed=seed, rate_eps=rate, start_ms=int(time.time() * 1000))
                rss_half = 0.0
                feed = asyncio.create_task(
                    run_feed(bootstrap, sim, duration_s=duration_s, realtime=True, auth=_auth(stack))
                )
                await asyncio.sleep(duration_s / 2)
                rss_half = psutil.Process(worker.proc.pid).memory_info().rss / 2**20
                await feed
                await asyncio.sleep(3)
            rss_end = psutil.Process(worker.proc.pid).memory_info().rss / 2**20
            hops = await _hops(worker.web_port)
        finally:
            await monitor.stop()
            terminate(worker.proc.pid, timeout_s=15)
    c = monitor.counts
    return {
        **_pcts(c.latencies_ms),
        "decisions": _pcts(c.decision_latencies_ms),
        "fill_ms": _pcts(c.fill_latencies_ms),
        "orders": c.orders,
        "rss_mb_half": round(rss_half, 1),
        "rss_mb_end": round(rss_end, 1),
        "hops": hops,
    }


async def _hops(port: int) -> dict[str, Any]:
    """The worker's per-hop latency and waits (bench/hops.py), or why they could not be read."""
    try:
        async with httpx.AsyncClient() as client:
            return hop_breakdown((await client.get(f"http://127.0.0.1:{port}/metrics")).text)
    except httpx.HTTPError as exc:
        return {"error": str(exc)}


def _many_pair_swaps(pairs: int, seed: int) -> Any:
    """Endless valid swap templates over `pairs` synthetic pairs, round robin (ts is set on send)."""
    import random

    rng = random.Random(seed)
    reserves = [[10**15, 10**13] for _ in range(pairs)]
    i = 0
    while True:
        n = i % pairs
        base, quote = reserves[n]
        buy = rng.random() < 0.5
        base_amount = rng.randrange(10**9, 10**11)
        quote_amount = max(1, base_amount * quote // base)
        base += -base_amount if buy else base_amount
        quote += quote_amount if buy else -quote_amount
        reserves[n] = [base, quote]
        yield {
            "venue": "raydium",
            "pool": f"pool{n}",
            "pair": f"T{n}/USDC",
            "base_mint": f"mint{n}",
            "quote_mint": "usdc",
            "base_decimals": 9,
            "quote_decimals": 6,
            "side": "buy" if buy else "sell",
            "base_amount": base_amount,
            "quote_amount": quote_amount,
            "base_reserve": base,
            "quote_reserve": quote,
            "fee_bps": 25,
            "slot": i,
            "ts_ms": 0,
            "received_ms": 0,
            "signature": f"m{i}",
        }
        i += 1


async def memory_at_pairs(
    root: Path, seed: int, pairs: int, rate: float, duration_s: float, every_s: float
) -> dict[str, Any]:
    """Worker RSS over time with `pairs` active pairs at `rate` raw swaps/s (the spec: 1,000 pairs, 10 min).

    Returns the RSS samples (every `every_s`), the peak, and the growth over the last half of the run:
    once every pair's windows are full and expiring, that growth should be ~0.
    """
    settings = _settings(root / f"memory-{pairs}")
    with Stack(settings) as stack:
        guarantee = await prepare(settings, stack)
        worker = start_worker(settings, stack, guarantee, 0)
        bootstrap = bootstrap_of(stack.broker_url)
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks=1, **_auth(stack))
        samples: list[tuple[float, float]] = []
        try:
            await _ready(f"http://127.0.0.1:{worker.web_port}/status/", "partitions/raw.swaps")
            await producer.start()
            proc = psutil.Process(worker.proc.pid)
            swaps = _many_pair_swaps(pairs, seed)
            tick_s = 0.1
            started = time.monotonic()
            next_sample = 0.0
            sent = 0
            while (elapsed := time.monotonic() - started) < duration_s:
                if elapsed >= next_sample:
                    samples.append((round(elapsed), round(proc.memory_info().rss / 2**20, 1)))
                    next_sample += every_s
                due = int(rate * elapsed) - sent
                now_ms = int(time.time() * 1000)
                futures = []
                for _ in range(due):
                    swap = next(swaps)
                    swap["ts_ms"] = swap["received_ms"] = now_ms
                    futures.append(
                        await producer.send("raw.swaps", key=swap["pair"].encode(), value=orjson.dumps(swap))
                    )
                await asyncio.gather(*futures)
                sent += due
                await asyncio.sleep(tick_s)
            samples.append((round(duration_s), round(proc.memory_info().rss / 2**20, 1)))
        finally:
            await producer.stop()
            terminate(worker.proc.pid, timeout_s=15)
    half = [mb for t, mb in samples if t >= duration_s / 2]
    return {
        "pairs": pairs,
        "rate_eps": rate,
        "duration_s": duration_s,
        "rss_mb_over_time": samples,
        "peak_rss_mb": max(mb for _, mb in samples),
        "growth_last_half_mb": round(half[-1] - half[0], 1) if half else 0.0,
    }


def model_and_risk_us() -> dict[str, Any]:
    """Per-event cost of the model step (predict + learn per snapshot) and of one risk decision."""
    import random

    from features.maths import FEATURE_NAMES
    from models.online import DIRECTION_FEATURES, DelayedLabeler, OnlineModel

    model_us: dict[str, float] = {}
    for kind, n in (("linear", 3_000), ("tree", 500)):  # MODEL_KIND; trees cost more, so fewer
        rng = random.Random(1)
        labeler = DelayedLabeler(
            OnlineModel(warmup=20, kind=kind, features=DIRECTION_FEATURES), label_horizon_ms=2_000
        )
        xs = [{name: rng.gauss(0, 1) for name in FEATURE_NAMES} for _ in range(n)]
        price = 100.0
        t0 = time.perf_counter()
        for i, x in enumerate(xs):
            price *= 1 + rng.gauss(0, 1e-3)
            labeler.on_snapshot(i * 250, price, x)
        model_us[kind] = round((time.perf_counter() - t0) / len(xs) * 1e6, 1)
    return {"model_us": model_us, "risk_us": round(_risk_us(), 1)}


def _risk_us() -> float:
    from core.config import get_settings
    from market.tokens import USDC, WSOL
    from risk.apply import apply_message
    from risk.limits import RiskLimits
    from risk.state import RiskState
    from streams.codec import encode
    from streams.records import PoolState, Signal

    limits = RiskLimits.from_settings(get_settings())
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
        apply_message(state, "signals", 0, i, raw, i, limits)
    return (time.perf_counter() - t0) / len(raws) * 1e6


SECTIONS = (
    "broker",
    "commit",
    "lag",
    "throughput",
    "latency",
    "guarantees",
    "memory",
    "costs",
    "backtest",
    "contention",
    "scale_out",
)
# The throughput, latency, contention and scale-out figures are at-least-once + idempotency;
# `guarantees` adds exactly-once (and Tansu) beside them (bench/guarantees.py).
AT_LEAST_ONCE = Case("at-least-once", "at_least_once")


async def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--events", type=int, default=60_000, help="raw events for the throughput runs")
    p.add_argument("--latency-seconds", type=float, default=40.0)
    p.add_argument("--memory-pairs", type=int, default=1_000, help="active pairs for the memory run")
    p.add_argument("--memory-rate", type=float, default=2_000.0, help="raw swaps/s in the memory run")
    p.add_argument(
        "--memory-seconds", type=float, default=600.0, help="memory run length: the spec's ten minutes"
    )
    p.add_argument("--memory-every", type=float, default=30.0, help="seconds between RSS samples")
    p.add_argument("--hog", type=int, default=2, help="busy processes in the contention run (one per core)")
    p.add_argument("--contention-events", type=int, default=20_000, help="raw events per throughput run")
    p.add_argument("--scale-events", type=int, default=30_000, help="raw events per worker count")
    p.add_argument("--scale-rate", type=float, default=1_000.0, help="raw events/s of the scale-out p99")
    p.add_argument("--scale-seconds", type=float, default=30.0, help="length of the scale-out p99 feed")
    p.add_argument(
        "--only", choices=SECTIONS, action="append", help="run only these sections (repeatable); default all"
    )
    p.add_argument(
        "--commit-intervals",
        default="",
        help="comma-separated COMMIT_INTERVAL_S values to sweep under exactly_once (e.g. 0.05,0.1,0.25,0.5)",
    )
    args = p.parse_args(argv)
    only = set(args.only or SECTIONS)
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="solbot-bench-") as tmp:
        root = Path(tmp)
        settings = _settings(root / "broker")
        with Stack(settings) as stack:
            if "broker" in only:
                result["broker"] = await broker_limit(bootstrap_of(stack.broker_url), auth=_auth(stack))
                _progress("broker", result["broker"])
            if "lag" in only:
                lag = await collector_lag(
                    bootstrap_of(stack.broker_url), 1000, 400.0, settings.producer_linger_ms, _auth(stack)
                )
                # Solana WebSocket notification -> raw.swaps record (bench/collector_lag.py): acked, consumed.
                result["collector_lag_ms"] = {k: lag[k] for k in ("acked", "consumed", "load_average_1m")}
                _progress("collector lag", result["collector_lag_ms"])
            eos_possible = await supports_transactions(bootstrap_of(stack.broker_url), auth=_auth(stack))
            if "commit" in only and args.commit_intervals and eos_possible:
                hops = [
                    await committed_hop(bootstrap_of(stack.broker_url), interval, auth=_auth(stack))
                    for interval in _intervals(args.commit_intervals)
                ]
                result["commit_interval_hop"] = hops
                _progress("commit interval, one hop", {"hops": hops})
        if "throughput" in only:
            with case_env(AT_LEAST_ONCE.env()):
                throughput = await pipeline_throughput(root, args.seed, args.events)
            _progress("throughput", throughput)
            result["pipeline"] = {
                "events_per_s": throughput["events_per_s"],
                "naive_events_per_s": throughput["naive_events_per_s"],
                "ratio_to_naive": round(throughput["events_per_s"] / throughput["naive_events_per_s"], 2),
                "rss_mb_after": throughput["rss_mb"],
            }
            if "broker" in result:
                ratio = round(throughput["events_per_s"] / result["broker"]["msgs_per_s"], 3)
                result["pipeline"]["ratio_to_broker"] = ratio
        if "latency" in only:
            with case_env(AT_LEAST_ONCE.env()):
                lat1k = await latency_at(root, args.seed, 1000, args.latency_seconds)
                _progress("latency at 1000/s", lat1k)
                lat5k = await latency_at(root, args.seed, 5000, args.latency_seconds)
            _progress("latency at 5000/s", lat5k)
            result["latency_ms"] = {
                "1000": {k: lat1k[k] for k in ("p50", "p99", "max", "n", "decisions")},
                "5000": {k: lat5k[k] for k in ("p50", "p99", "max", "n", "decisions")},
            }
            result["decision_to_fill_ms"] = {"1000": lat1k["fill_ms"], "5000": lat5k["fill_ms"]}
            result["hops_ms"] = {"1000": lat1k["hops"], "5000": lat5k["hops"]}  # where the time went
            result["rss_mb_at_5000"] = {"half": lat5k["rss_mb_half"], "end": lat5k["rss_mb_end"]}
        if "guarantees" in only:
            await _guarantees(root, args, result, eos_possible, "guarantees" in only)
        if "memory" in only:
            result["memory"] = await memory_at_pairs(
                root, args.seed, args.memory_pairs, args.memory_rate, args.memory_seconds, args.memory_every
            )
            _progress("memory", result["memory"])
        if "contention" in only:
            result["contention"] = await _contention(root / "contention", args, result.get("pipeline"))
            _progress("contention", result["contention"])
        if "scale_out" in only:
            counts = (1, 2, 4)
            settings_for = settings_factory(_settings, root)
            with case_env(AT_LEAST_ONCE.env()):
                result["scale_out"] = await scale_out(
                    settings_for, args.seed, args.scale_events, args.scale_rate, args.scale_seconds, counts
                )
    if "costs" in only:
        result.update(model_and_risk_us())
        _progress("costs", {k: result[k] for k in ("model_us", "risk_us")})
    if "backtest" in only:
        result["backtest_events_per_s"] = _backtest_events_per_s()
    if "exactly_once" in result and "pipeline" in result and "latency_ms" in result:
        alo = {"pipeline": result["pipeline"], "latency_ms": result["latency_ms"]}
        result["eos"] = cost_of_exactly_once(alo, result["exactly_once"])
    elif eos_possible:
        result["eos"] = {"measured": None, "reason": "run the throughput, latency and guarantees sections"}
    else:
        result["eos"] = None
        result["eos_reason"] = "the embedded broker has no transactions: exactly-once cannot run, so no cost"
    _table(result)
    print(json.dumps(result))
    return 0


async def _guarantees(
    root: Path, args: argparse.Namespace, result: dict[str, Any], eos_possible: bool, compare: bool
) -> None:
    """exactly_once (and Tansu's at-least-once) beside the at-least-once figures, and the commit sweep."""
    naive = result.get("pipeline", {}).get("naive_events_per_s")
    if naive is None:
        with case_env(AT_LEAST_ONCE.env()):
            naive = await naive_events_per_s(root, args.seed, args.events)
    common: dict[str, Any] = {
        "pipeline": pipeline_events_per_s,
        "latency": latency_at,
        "seed": args.seed,
        "events": args.events,
        "latency_s": args.latency_seconds,
        "naive_events_per_s": naive,
    }
    if compare and eos_possible:
        result["exactly_once"] = await measure(root, Case("exactly-once", "exactly_once"), **common)
        _progress("exactly_once", result["exactly_once"])
    if compare:
        if tansu_available():
            result["tansu"] = await measure(root, Case("tansu", "at_least_once", broker="tansu"), **common)
            _progress("tansu", result["tansu"])
        else:
            result["tansu"] = None
    if args.commit_intervals and eos_possible:
        sweep = []
        for interval in _intervals(args.commit_intervals):
            case = Case(f"commit-{interval:g}", "exactly_once", commit_interval_s=interval)
            sweep.append(await measure(root, case, rates=(1000,), **common))
            _progress(f"commit interval {interval:g} s", sweep[-1])
        result["commit_interval_sweep"] = sweep


async def _contention(root: Path, args: argparse.Namespace, quiet: dict[str, Any] | None) -> dict[str, Any]:
    """Throughput (pipeline and naive) and latency at 1,000 ev/s again, with a CPU hog on every core."""
    hog = CpuHog(args.hog, root)
    with case_env(AT_LEAST_ONCE.env()):
        throughput = await pipeline_throughput(root, args.seed, args.contention_events, hog)
        lat1k = await latency_at(root, args.seed, 1000, args.latency_seconds, hog)
    return contention_figures(throughput, lat1k, hog, quiet["ratio_to_naive"] if quiet else None)


def _intervals(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


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
    rows: list[tuple[str, str]] = []
    if "broker" in r:
        b = r["broker"]
        rows.append(("broker limit (aiokafka produce->consume)", f"{b['msgs_per_s']:,} msg/s"))
        rows.append(("broker one hop at 1,000 msg/s", f"p50 {b['hop_p50_ms']} ms, p99 {b['hop_p99_ms']} ms"))
    if "pipeline" in r:
        pl = r["pipeline"]
        of_broker = f" ({pl['ratio_to_broker']:.1%} of the broker)" if "ratio_to_broker" in pl else ""
        rows.append(
            ("at-least-once: pipeline, one worker", f"{pl['events_per_s']:,} raw events/s{of_broker}")
        )
        rows.append(
            (
                "naive Faust agent",
                f"{pl['naive_events_per_s']:,} events/s (pipeline = {pl['ratio_to_naive']}x)",
            )
        )
    if "latency_ms" in r:
        rows.append(("at-least-once: tick-to-order at 1,000 ev/s", _lat(r["latency_ms"]["1000"])))
        rows.append(("at-least-once: tick-to-order at 5,000 ev/s", _lat(r["latency_ms"]["5000"])))
        for rate in ("1000", "5000"):
            rows.append(
                (
                    f"  tick-to-decision (orders and rejections) at {int(rate):,}",
                    _lat(r["latency_ms"][rate]["decisions"]),
                )
            )
        rows.append(("order-to-fill (paper) at 1,000", _lat(r["decision_to_fill_ms"]["1000"])))
        rows.append(("worker RSS at 5,000 ev/s (half, end)", f"{r['rss_mb_at_5000']}"))
    for key, label in (("exactly_once", "exactly-once"), ("tansu", "Tansu, at-least-once")):
        if r.get(key):
            rows.extend(table_rows(label, r[key]))
    if "memory" in r:
        m = r["memory"]
        rows.append(
            (
                f"worker RSS, {m['pairs']:,} pairs at {m['rate_eps']:,.0f} ev/s for {m['duration_s']:.0f} s",
                f"peak {m['peak_rss_mb']} MB, growth over the last half {m['growth_last_half_mb']} MB",
            )
        )
        rows.append(("  RSS over time (s, MB)", str(m["rss_mb_over_time"])))
    if "collector_lag_ms" in r:
        lag = r["collector_lag_ms"]
        rows.append(
            (
                "collector lag, WS -> acked raw record",
                f"p50 {lag['acked']['p50_ms']} ms, p99 {lag['acked']['p99_ms']} ms",
            )
        )
        rows.append(
            (
                "collector lag, WS -> consumed record",
                f"p50 {lag['consumed']['p50_ms']} ms, p99 {lag['consumed']['p99_ms']} ms",
            )
        )
    if "backtest_events_per_s" in r:
        bt = r["backtest_events_per_s"]
        rows.append(("backtest", f"{bt:,} events/s" if bt else "not available"))
    if "model_us" in r:
        rows.append(("model (linear) per snapshot", f"{r['model_us']['linear']} us"))
        rows.append(("risk decision", f"{r['risk_us']} us"))
    rows.extend(contention_rows(r.get("contention")))
    rows.extend(scale_out_rows(r.get("scale_out")))
    rows.append(("exactly-once cost", r["eos_reason"] if r["eos"] is None else str(r["eos"])))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    if r.get("commit_interval_hop"):
        print("\ncommit interval under exactly_once, one transactional hop (1,000 msg/s paced; burst):")
        for h in r["commit_interval_hop"]:
            print(
                f"  {h['commit_interval_s']} s: p50 {h['hop_p50_ms']} ms, p99 {h['hop_p99_ms']} ms, "
                f"{h['committed_msgs_per_s']:,} committed msg/s (load {h['load_average_1m']})"
            )
    if r.get("commit_interval_sweep"):
        print("\ncommit interval under exactly_once (one worker):")
        print("\n".join(sweep_rows(r["commit_interval_sweep"])))


def _lat(d: dict[str, Any]) -> str:
    return f"p50 {d['p50']} ms, p99 {d['p99']} ms, max {d['max']} ms (n={d['n']})"


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
