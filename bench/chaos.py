"""`make chaos`: SIGKILL workers at random moments while a seeded market flows, then audit the run.

Two workers share the pipeline; every few seconds one of them, at random, is SIGKILLed and restarted at
once. Afterwards the topics and the database are read back (solbot/audit.py): duplicates, missing
decisions or outcomes, positions that differ from the sum of fills, and risk-limit breaches must all be
zero. Then the same market runs twice through one worker, once uninterrupted and once with kills, and
their orders are compared (`deterministic`). The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from core.settings import Settings, load_settings
from services.process import terminate
from services.stack import Stack
from solbot.audit import audit_run, read_topic
from solbot.monitor import TopicMonitor
from solbot.runner import Worker, drain, prepare, start_worker
from streams.broker import bootstrap_of

# Low thresholds so that a few minutes produce many decisions: the crash test is about plumbing.
CHAOS_ENV = {
    "SNAPSHOT_INTERVAL_MS": "250",
    "LABEL_HORIZON_MS": "2000",
    "MODEL_WARMUP_LABELS": "10",
    "STRATEGY_COST_BPS": "2",
    "MIN_CONFIDENCE": "0.5",
    # A killed member leaves the group only when its session times out; shorter sessions mean the
    # survivors take over sooner (Tansu joins after session_timeout / 2).
    "SESSION_TIMEOUT_S": "6",
    "REBALANCE_TIMEOUT_S": "6",
}


def _settings(data_dir: Path) -> Settings:
    os.environ.update(CHAOS_ENV)
    for name in ("BROKER_URL", "DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    return load_settings(data_dir=data_dir)


async def _run(
    data_dir: Path,
    *,
    workers: int,
    seed: int,
    rate_eps: float,
    duration_s: float,
    kill_every_s: float,
    start_ms: int,
    rng: random.Random,
) -> dict[str, Any]:
    settings = _settings(data_dir)
    from market.feed import run_feed
    from market.simulator import MarketSimulator

    with Stack(settings) as stack:
        guarantee = await prepare(settings, stack)
        bootstrap = bootstrap_of(stack.broker_url)
        running: list[Worker] = [start_worker(settings, stack, guarantee, i) for i in range(workers)]
        next_index = workers
        monitor = TopicMonitor(bootstrap)
        await monitor.start()
        await asyncio.sleep(max(0.0, start_ms / 1000 - time.time()))
        sim = MarketSimulator(seed=seed, pairs=settings.pairs, rate_eps=rate_eps, start_ms=start_ms)
        feed = asyncio.create_task(run_feed(bootstrap, sim, duration_s=duration_s, realtime=True))
        kills = 0
        try:
            while not feed.done() and kill_every_s > 0:
                await asyncio.wait({feed}, timeout=rng.uniform(0.5, 1.5) * kill_every_s)
                if feed.done():
                    break
                victim = rng.randrange(len(running))
                os.kill(running[victim].proc.pid, signal.SIGKILL)
                running[victim].proc.wait()
                kills += 1
                running[victim] = start_worker(settings, stack, guarantee, next_index)
                next_index += 1
            events = await feed
            await drain(monitor, quiet_s=30, limit_s=180)
        finally:
            if not feed.done():
                feed.cancel()
            await monitor.stop()
            for w in running:
                terminate(w.proc.pid, timeout_s=15)
        audit = await audit_run(bootstrap, stack.database_url, settings.portfolio)
        orders = await read_topic(bootstrap, "orders")
        breaches = await _breaches(stack.database_url, settings, orders)
    return {"kills": kills, "events": events, "audit": audit, "orders": orders, "breaches": breaches}


async def _breaches(database_url: str, settings: Settings, orders: list[dict[str, Any]]) -> list[str]:
    """Limits a reader can check from outside: no negative balance, no entry above the position cap.

    The position cap is checked against the highest equity the wallet could have had (its opening
    equity marked at the highest SOL price seen, plus realised gains), an upper bound, so a reported
    breach is a real one.
    """
    out: list[str] = []
    conn = await asyncpg.connect(database_url)
    try:
        for row in await conn.fetch("SELECT mint, amount FROM balances WHERE amount < 0"):
            out.append(f"negative balance {row['mint']}: {row['amount']}")
        realised = float(
            await conn.fetchval("SELECT coalesce(sum(realised_pnl_quote), 0) FROM positions") or 0
        )
    finally:
        await conn.close()
    max_sol = _highest_sol_price(orders)
    equity_bound = (
        settings.paper_start_usdc + settings.paper_start_sol * max_sol + max(0.0, realised) * max_sol
    )
    cap = settings.max_position_pct / 100 * equity_bound
    for o in orders:
        if (
            o.get("side") == "buy"
            and o.get("kind") == "entry"
            and o["pool_state"]["quote_mint"].startswith("EPj")
        ):
            notional = o["amount_in"] / 10 ** o["pool_state"]["quote_decimals"]
            if notional > cap * 1.0001:
                out.append(f"order {o['id']} notional {notional:.2f} USDC > cap {cap:.2f}")
    return out


def _highest_sol_price(orders: list[dict[str, Any]]) -> float:
    """The highest SOL/USDC pool price any order saw (250 when no SOL/USDC order exists)."""
    prices = [
        (o["pool_state"]["quote_reserve"] / 1e6) / (o["pool_state"]["base_reserve"] / 1e9)
        for o in orders
        if o.get("pair") == "SOL/USDC"
    ]
    return max(prices, default=250.0)


_MS = re.compile(r"\d{13}")


def _normalised(orders: list[dict[str, Any]], start_ms: int) -> list[tuple[Any, ...]]:
    """Orders with absolute times made relative to the run's start, in publication order, deduplicated."""
    seen: set[str] = set()
    out = []
    for o in orders:
        if o["id"] in seen:
            continue
        seen.add(o["id"])
        oid = _MS.sub(lambda m: str(int(m.group()) - start_ms), o["id"])
        out.append((oid, o["side"], o["amount_in"], o["min_amount_out"], o["kind"]))
    return sorted(out)


def _next_minute_ms(lead_s: float) -> int:
    return (int((time.time() + lead_s) // 60) + 1) * 60_000


async def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--duration", type=float, default=300.0, help="seconds of market in the two-worker run")
    p.add_argument("--rate", type=float, default=300.0)
    p.add_argument("--kill-every", type=float, default=12.0, help="mean seconds between kills")
    p.add_argument("--determinism-duration", type=float, default=90.0)
    p.add_argument("--keep", type=Path, help="run in this directory and keep it (worker logs, data)")
    p.add_argument("--skip-determinism", action="store_true", help="only the two-worker run")
    args = p.parse_args(argv)
    rng = random.Random(args.seed)
    with contextlib.ExitStack() as stack:
        root = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="solbot-chaos-")))
        chaos = await _run(
            root / "chaos",
            workers=2,
            seed=args.seed,
            rate_eps=args.rate,
            duration_s=args.duration,
            kill_every_s=args.kill_every,
            start_ms=_next_minute_ms(15),
            rng=rng,
        )
        determinism: dict[str, Any] | None = None
        if not args.skip_determinism:
            start_a = _next_minute_ms(15)
            calm = await _run(
                root / "calm",
                workers=1,
                seed=args.seed,
                rate_eps=args.rate,
                duration_s=args.determinism_duration,
                kill_every_s=0,
                start_ms=start_a,
                rng=rng,
            )
            start_b = _next_minute_ms(15)
            killed = await _run(
                root / "killed",
                workers=1,
                seed=args.seed,
                rate_eps=args.rate,
                duration_s=args.determinism_duration,
                kill_every_s=10,
                start_ms=start_b,
                rng=rng,
            )
            calm_orders = _normalised(calm["orders"], start_a)
            killed_orders = _normalised(killed["orders"], start_b)
            determinism = {
                "orders_uninterrupted": len(calm_orders),
                "orders_with_kills": len(killed_orders),
                "kills": killed["kills"],
                "identical": calm_orders == killed_orders,
            }
    a = chaos["audit"]
    result = {
        "kills": chaos["kills"],
        "events": chaos["events"],
        "signals": a.signals,
        "decisions": a.decisions,
        "orders": a.orders,
        "terminal": a.terminal,
        "duplicates": len(a.duplicates),
        "missing": len(a.missing),
        "position_mismatches": len(a.position_mismatches),
        "breaches": len(chaos["breaches"]),
        "deterministic": None if determinism is None else determinism["identical"],  # None: not run
        "determinism": determinism,
    }
    print("crash test: two workers, random SIGKILLs, then audit")
    for key in (
        "kills",
        "events",
        "signals",
        "decisions",
        "orders",
        "terminal",
        "duplicates",
        "missing",
        "position_mismatches",
        "breaches",
        "deterministic",
    ):
        print(f"  {key:<20} {result[key]}")
    for line in (a.duplicates + a.missing + a.position_mismatches + chaos["breaches"])[:20]:
        print(f"  ! {line}")
    print(json.dumps(result))
    clean = not (a.duplicates or a.missing or a.position_mismatches or chaos["breaches"])
    clean = clean and (determinism is None or determinism["identical"])
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
