"""The bench's scale-out figure: raw events/s and tick-to-order p99 with 1, 2 and 4 workers on 4 partitions.

Each worker count gets its own stack (broker, Postgres, Redis) so no run inherits another's backlog. Per
count: the workers start and the group settles (every raw partition owned), then a realtime feed at a
fixed rate gives the tick-to-order percentiles, then a fast feed of N events gives the sustained
events/s. The fast feed's records land on partitions by the producer's key hash of the pair, so the
figure also reports how the events spread over the partitions: a pair never splits, so the hottest
partition's share bounds what more workers can buy. The workers' CPU time per raw event (summed over
workers) is the measured per-partition cost docs/performance.md multiplies out.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psutil
from aiokafka import AIOKafkaProducer

from services.process import terminate
from services.stack import Stack
from solbot.monitor import TopicMonitor
from solbot.runner import Worker, prepare, start_worker
from streams.broker import bootstrap_of
from streams.broker_auth import NO_AUTH, BrokerAuth, broker_auth

SETTLE_TIMEOUT_S = 180.0


async def _statuses(client: httpx.AsyncClient, workers: list[Worker]) -> list[dict[str, Any]]:
    out = []
    for w in workers:
        try:
            out.append((await client.get(f"http://127.0.0.1:{w.web_port}/status/")).json())
        except (httpx.HTTPError, ValueError):
            out.append({})
    return out


def owned_raw_partitions(statuses: list[dict[str, Any]], topic: str = "raw.swaps") -> list[list[int]]:
    """Each worker's partitions of `topic`, from its `/status/` (an unanswered worker owns none)."""
    return [sorted(s.get("partitions", {}).get(topic, [])) for s in statuses]


def settled(owned: list[list[int]], partitions: int) -> bool:
    """Every partition owned exactly once, and by as many workers as can have one."""
    flat = [p for ps in owned for p in ps]
    busy = sum(1 for ps in owned if ps)
    return sorted(flat) == list(range(partitions)) and busy == min(len(owned), partitions)


def received(statuses: list[dict[str, Any]], topic: str = "raw.swaps") -> int:
    return sum(int(s.get("received_by_topic", {}).get(topic, 0) or 0) for s in statuses)


async def _settle(workers: list[Worker], partitions: int) -> None:
    async with httpx.AsyncClient() as client:
        deadline = time.perf_counter() + SETTLE_TIMEOUT_S
        stable = 0
        while time.perf_counter() < deadline:
            if settled(owned_raw_partitions(await _statuses(client, workers)), partitions):
                stable += 1
                if stable >= 3:  # three looks a second apart: not a rebalance passing through
                    return
            else:
                stable = 0
            await asyncio.sleep(1.0)
    raise TimeoutError(f"{len(workers)} workers never settled on {partitions} partitions")


async def _until_received(workers: list[Worker], target: int, timeout_s: float) -> float:
    async with httpx.AsyncClient() as client:
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            if received(await _statuses(client, workers)) >= target:
                return time.perf_counter()
            await asyncio.sleep(0.1)
    raise TimeoutError(f"the workers never received {target} raw events")


async def _feed_fast(
    bootstrap: str, seed: int, events: int, start_ms: int, auth: BrokerAuth = NO_AUTH
) -> tuple[float, Counter[int]]:
    """`events` raw events as fast as possible; returns the perf-clock start and events per partition."""
    from market.simulator import MarketSimulator
    from streams.codec import encode

    sim = MarketSimulator(seed=seed, rate_eps=1000, start_ms=start_ms)
    payloads = []
    for ev in sim.events():
        topic = "raw.swaps" if hasattr(ev, "pair") else "raw.launches"
        key = (ev.pair if hasattr(ev, "pair") else ev.mint).encode()  # type: ignore[union-attr]
        payloads.append((topic, key, encode(ev)))
        if len(payloads) >= events:
            break
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks=1, **auth)
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [await producer.send(t, v, key=k) for t, k, v in payloads]
        metas = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return started, Counter(m.partition for m in metas if m.topic == "raw.swaps")


def _cpu_s(workers: list[Worker]) -> float:
    total = 0.0
    for w in workers:
        try:
            t = psutil.Process(w.proc.pid).cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


async def run_workers(
    settings: Any, seed: int, n: int, events: int, rate: float, duration_s: float
) -> dict[str, Any]:
    """One worker count on its own stack: the latency at `rate`, then the sustained events/s."""
    from market.feed import run_feed
    from market.simulator import MarketSimulator

    load = [round(os.getloadavg()[0], 2)]
    with Stack(settings) as stack:
        guarantee = await prepare(settings, stack)
        workers = [start_worker(settings, stack, guarantee, i) for i in range(n)]
        bootstrap = bootstrap_of(stack.broker_url)
        auth = broker_auth(settings, stack.broker_url)
        monitor = TopicMonitor(bootstrap, from_end=True, auth=auth)
        monitor_stopped = False
        try:
            await _settle(workers, settings.topic_partitions)
            await monitor.start()
            sim = MarketSimulator(seed=seed, rate_eps=rate, start_ms=int(time.time() * 1000))
            await run_feed(bootstrap, sim, duration_s=duration_s, realtime=True, auth=auth)
            await asyncio.sleep(3)
            await monitor.stop()
            monitor_stopped = True
            load.append(round(os.getloadavg()[0], 2))
            async with httpx.AsyncClient() as client:
                base = received(await _statuses(client, workers))
            cpu_before = _cpu_s(workers)
            started, per_partition = await _feed_fast(
                bootstrap, seed + 1, events, int(time.time() * 1000), auth
            )
            done = await _until_received(workers, base + events, 600)
            cpu = _cpu_s(workers) - cpu_before
            load.append(round(os.getloadavg()[0], 2))
        finally:
            if not monitor_stopped:
                await monitor.stop()
            for w in workers:
                terminate(w.proc.pid, timeout_s=15)
    lat = monitor.counts.latency()
    swaps = sum(per_partition.values())
    return {
        "workers": n,
        "events_per_s": round(events / (done - started)),
        "p50_ms": lat["p50"],
        "p99_ms": lat["p99"],
        "orders": lat["n"],
        "cpu_us_per_event": round(cpu / events * 1e6, 1),
        "partition_shares": {str(p): round(c / swaps, 3) for p, c in sorted(per_partition.items())},
        "load_average_1m": load,
    }


def projection(cpu_us_per_event: float, hottest_share: float, partitions: int, cores: int) -> float:
    """Raw events/s a cluster can sustain on paper: each partition one consumer (a core), a pair never split.

    The busiest partition saturates first: it takes `hottest_share` of the events at 1e6/cpu_us events/s
    of one core; and no more cores than partitions (or than there are) can work at once.
    """
    per_core = 1e6 / cpu_us_per_event
    by_hottest = per_core / hottest_share if hottest_share > 0 else float("inf")
    by_cores = per_core * min(partitions, cores)
    return round(min(by_hottest, by_cores))


async def scale_out(
    settings_for: Any, seed: int, events: int, rate: float, duration_s: float, counts: tuple[int, ...]
) -> dict[str, Any]:
    """The bench JSON's `scale_out`: one row per worker count, plus the 3-node projection's inputs."""
    rows = []
    for n in counts:
        settings = settings_for(n)
        rows.append(await run_workers(settings, seed, n, events, rate, duration_s))
        print(f"[bench] scale_out {n} workers: {rows[-1]}", file=sys.stderr, flush=True)
    one = rows[0]
    hottest = max(one["partition_shares"].values(), default=1.0)
    partitions = settings_for(counts[0]).topic_partitions
    return {
        "partitions": partitions,
        "rate_eps": rate,
        "rows": rows,
        "hottest_partition_share": hottest,
        # 3 nodes x 2 cores of workers, one consumer per partition, the broker on other cores (docs).
        "projected_3_nodes_events_per_s": projection(one["cpu_us_per_event"], hottest, partitions, 6),
    }


def settings_factory(make: Any, root: Path) -> Any:
    """Settings per worker count, each with its own data directory (workers read TOPIC_PARTITIONS too)."""

    def settings_for(n: int) -> Any:
        return make(root / f"scale-{n}")

    return settings_for


def scale_out_rows(s: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The bench table's rows for the `scale_out` section (none when it did not run)."""
    if not s:
        return []
    rows = [
        (
            f"{r['workers']} worker(s) on {s['partitions']} partitions",
            f"{r['events_per_s']:,} raw events/s, p99 {r['p99_ms']} ms at {s['rate_eps']:,.0f} ev/s "
            f"(n={r['orders']}), {r['cpu_us_per_event']} us CPU/event, load {r['load_average_1m']}",
        )
        for r in s["rows"]
    ]
    rows.append(
        (
            "3 nodes on paper (docs/performance.md)",
            f"{s['projected_3_nodes_events_per_s']:,} raw events/s "
            f"(hottest partition {s['hottest_partition_share']:.0%})",
        )
    )
    return rows
