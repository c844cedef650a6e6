"""`make chaos`: the fault matrix. A seeded market flows through two workers while every fault kind is
injected in its own window of the run (bench/chaos_faults.py: worker and broker SIGKILLs, exceptions at
each side-effect boundary, Postgres resets and a restart, Redis down, a worker paused beyond its session,
a CPU hog on every core), under `exactly_once` (or `--guarantee at_least_once`). The same market runs at
the same time through one worker and no fault (the calm run). Afterwards the topics and the database are
read back (solbot/audit.py) and every kind gets a row: duplicates, missing decisions, orders without a
terminal outcome, positions against the sum of fills and the chain against the database (both taken at
the window's end), limit breaches, and whether its window's orders are those of the calm run. The last
line of output is one JSON object; the exit status is 0 only when every row is clean.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.chaos_faults import KINDS, Faults, Window, inject, monotonic_clock, schedule, window_of
from core.settings import Settings, load_settings
from services.process import terminate
from services.stack import Stack
from solbot.audit import Audit, audit_run, position_mismatches, read_topic
from solbot.monitor import TopicMonitor
from solbot.runner import drain, prepare
from streams.broker import bootstrap_of
from streams.broker_auth import broker_auth

# Low thresholds so that a few minutes produce many decisions: the crash test is about plumbing.
CHAOS_ENV = {
    "SNAPSHOT_INTERVAL_MS": "250",
    "LABEL_HORIZON_MS": "2000",
    "MODEL_WARMUP_LABELS": "10",
    "STRATEGY_COST_BPS": "2",
    "MIN_CONFIDENCE": "0.5",
    # A killed member leaves the group only when its session times out; shorter sessions mean the
    # survivors take over sooner.
    "SESSION_TIMEOUT_S": "6",
    "REBALANCE_TIMEOUT_S": "6",
    # Decisions wait for the fills of earlier orders (risk.barrier) as long as any fault here lasts (a
    # Postgres restart, a paused worker): past RISK_FILL_WAIT_MS risk decides without them, and the run
    # could differ from the calm one by design, not by a fault.
    "RISK_FILL_WAIT_MS": "300000",
    # Likewise the signals of a features partition whose model is down (killed, paused, catching up): risk
    # waits for them (agents/signal_merge.py) rather than deciding the others first. Both waits outlast
    # the worker-kill and broker-kill windows back to back plus a start on a busy box: run 22 (one core
    # spinning beside it) had a partition's model down 168 s across them, past the 120 s waited then.
    "RISK_MERGE_IDLE_MS": "300000",
    "FAULT_INJECT": "",
}
# Seconds of each window (bench/chaos_faults.py) and how many faults each holds.
WINDOW_S = {
    "worker_kill": 70.0,
    "broker_kill": 60.0,
    "exception": 30.0,
    "postgres": 25.0,
    "redis": 20.0,
    "pause": 30.0,
    "cpu_hog": 30.0,
}
PLAN = {"worker_kill": 15, "broker_kill": 5, "postgres": 3, "pause": 2}
WARMUP_S = 25.0
# The market goes on this long after the planned windows: broker restarts under load take longer than
# planned, and the windows move on with them (their real spans are what the rows are attributed by).
TAIL_S = 150.0


def _settings(data_dir: Path, guarantee: str) -> Settings:
    os.environ.update(CHAOS_ENV)
    os.environ["PROCESSING_GUARANTEE"] = guarantee
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
    start_ms: int,
    guarantee: str,
    windows: list[Window],
    rng: random.Random,
) -> dict[str, Any]:
    """One run of the market; with `windows`, every fault kind injected in its own."""
    settings = _settings(data_dir, guarantee)
    from market.feed import run_feed
    from market.simulator import MarketSimulator

    with Stack(settings) as stack:
        used = await prepare(settings, stack)
        bootstrap = bootstrap_of(stack.broker_url)
        auth = broker_auth(settings, stack.broker_url)
        faults = Faults(settings, stack, used, [], rng)
        faults.workers = [faults.start(i) for i in range(workers)]
        monitor = TopicMonitor(bootstrap, auth=auth)
        await monitor.start()
        await asyncio.sleep(max(0.0, start_ms / 1000 - time.time()))
        sim = MarketSimulator(seed=seed, pairs=settings.pairs, rate_eps=rate_eps, start_ms=start_ms)
        feed = asyncio.create_task(
            run_feed(bootstrap, sim, duration_s=duration_s, realtime=True, idempotent=True, auth=auth)
        )
        clock = monotonic_clock(time.monotonic())
        at_end: dict[str, dict[str, Any]] = {}
        spans: list[Window] = []  # the windows as they happened: a slow restart makes one last longer
        supervisor = asyncio.create_task(faults.supervise())
        try:
            for planned in windows:
                start = max(planned.start_s, clock())
                window = Window(planned.kind, start, start + planned.end_s - planned.start_s)
                await inject(faults, window, clock, PLAN)
                await asyncio.sleep(max(0.0, window.end_s - clock()))
                spans.append(Window(planned.kind, start, clock()))
                at_end[window.kind] = await _state_checks(faults, settings)
            events = await feed
            await drain(monitor, quiet_s=30, limit_s=240)
            chain_ok = await faults.chain_check()
        finally:
            supervisor.cancel()
            if not feed.done():
                feed.cancel()
            await monitor.stop()
            for w in faults.workers:
                terminate(w.proc.pid, timeout_s=15)
        try:  # the servers restarted by the faults serve the audit: stopped after it
            audit = await audit_run(bootstrap, stack.database_url, settings.portfolio, auth)
            orders = await read_topic(bootstrap, "orders", auth)
            breaches = await _breaches(stack.database_url, settings, orders)
        finally:
            faults.stop_restarted()
    return {
        "guarantee": used,
        "worker_kills": faults.worker_kills,
        "worker_exits": faults.worker_exits,
        "broker_kills": faults.injected["broker_kill"],
        "injected": faults.injected,
        "exceptions": faults.exceptions_raised,
        "events": events,
        "audit": audit,
        "orders": orders,
        "breaches": breaches,
        "chain_ok": chain_ok,
        "at_end": at_end,
        "windows": spans,
        "feed_s": duration_s,
    }


async def _state_checks(faults: Faults, settings: Settings) -> dict[str, Any]:
    """What holds at any moment: positions = sum of fills (one sink transaction), chain = database."""
    mismatches: list[str] | None = None
    for _ in range(10):
        try:
            conn = await asyncpg.connect(faults.stack.database_url)
            try:
                mismatches = await position_mismatches(conn, settings.portfolio)
            finally:
                await conn.close()
            break
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(1.0)
    return {"position_mismatches": mismatches, "chain_ok": await faults.chain_check()}


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


def _normalised(orders: list[dict[str, Any]], start_ms: int) -> dict[str, tuple[Any, ...]]:
    """Orders by id with absolute times made relative to the run's start (deduplicated)."""
    out: dict[str, tuple[Any, ...]] = {}
    for o in orders:
        oid = re.sub(r"\d{13}", lambda m: str(int(m.group()) - start_ms), str(o["id"]))
        out.setdefault(oid, (oid, o["side"], o["amount_in"], o["min_amount_out"], o["kind"]))
    return out


def _next_minute_ms(lead_s: float) -> int:
    return (int((time.time() + lead_s) // 60) + 1) * 60_000


def rows(
    chaos: dict[str, Any], calm_orders: list[dict[str, Any]], windows: list[Window], start_ms: int
) -> list[dict[str, Any]]:
    """One row per fault kind: what the audit found in its window, and the state at its end."""
    audit: Audit = chaos["audit"]
    by_kind: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        state = chaos["at_end"].get(kind, {})
        mismatches = state.get("position_mismatches")
        by_kind[kind] = {
            "kind": kind,
            "injected": chaos["injected"].get(kind, 0),
            "duplicates": 0,
            "missing_decisions": 0,
            "unterminated": 0,
            "position_mismatches": None if mismatches is None else len(mismatches),
            "chain_ok": state.get("chain_ok"),
            "breaches": 0,
            "orders": 0,
            "deterministic": True,
        }
    other = {"duplicates": 0, "missing_decisions": 0, "unterminated": 0, "breaches": 0}

    def row(text: str) -> dict[str, Any]:
        return by_kind.get(window_of(text, windows, start_ms), other)

    for line in audit.duplicates:
        row(line)["duplicates"] += 1
    for line in audit.missing:
        row(line)["unterminated" if "terminal outcome" in line else "missing_decisions"] += 1
    for line in chaos["breaches"]:
        row(line)["breaches"] += 1
    faulted = {k: v for k, v in _normalised(chaos["orders"], start_ms).items()}
    calm = _normalised(calm_orders, start_ms)
    originals = {
        re.sub(r"\d{13}", lambda m: str(int(m.group()) - start_ms), str(o["id"])): str(o["id"])
        for o in chaos["orders"] + calm_orders
    }
    for oid in set(faulted) | set(calm):
        r = row(originals[oid])
        if r is other:
            continue
        r["orders"] += oid in faulted
        if faulted.get(oid) != calm.get(oid):
            r["deterministic"] = False
    other["deterministic"] = all(
        faulted.get(o) == calm.get(o) for o in set(faulted) | set(calm) if row(originals[o]) is other
    )
    out = list(by_kind.values())
    out.append({"kind": "outside_windows", **other})
    return out


def clean(row: dict[str, Any]) -> bool:
    return (
        row["duplicates"] == 0
        and row["missing_decisions"] == 0
        and row["unterminated"] == 0
        and row["breaches"] == 0
        and row["deterministic"] is True
        and row.get("position_mismatches", 0) == 0
        and row.get("chain_ok", True) is True
    )


async def calm_run(args: argparse.Namespace) -> int:
    """The same market through one worker and no fault; its orders go to `--calm-out`."""
    result = await _run(
        args.calm_dir,
        workers=1,
        seed=args.seed,
        rate_eps=args.rate,
        duration_s=args.duration,
        start_ms=args.start_ms,
        guarantee=args.guarantee,
        windows=[],
        rng=random.Random(args.seed),
    )
    args.calm_out.write_bytes(json.dumps(result["orders"]).encode())
    return 0


async def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=float, default=300.0)
    p.add_argument("--guarantee", choices=["exactly_once", "at_least_once"], default="exactly_once")
    p.add_argument("--keep", type=Path, help="run in this directory and keep it (worker logs, data)")
    p.add_argument("--calm-dir", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--calm-out", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--start-ms", type=int, help=argparse.SUPPRESS)
    p.add_argument("--duration", type=float, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.calm_out is not None:
        return await calm_run(args)
    windows = schedule(WARMUP_S, WINDOW_S)
    duration = windows[-1].end_s + TAIL_S
    rng = random.Random(args.seed)
    with contextlib.ExitStack() as stack:
        root = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="solbot-chaos-")))
        root.mkdir(parents=True, exist_ok=True)
        start_ms = _next_minute_ms(25)
        calm_out = root / "calm-orders.json"
        calm_log = await asyncio.to_thread((root / "calm.log").open, "wb")
        calm = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "bench.chaos", "--calm-dir", str(root / "calm")],
            *["--calm-out", str(calm_out), "--start-ms", str(start_ms), "--duration", str(duration)],
            *["--seed", str(args.seed), "--rate", str(args.rate), "--guarantee", args.guarantee],
            stdout=calm_log,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            chaos = await _run(
                root / "chaos",
                workers=2,
                seed=args.seed,
                rate_eps=args.rate,
                duration_s=duration,
                start_ms=start_ms,
                guarantee=args.guarantee,
                windows=windows,
                rng=rng,
            )
            await asyncio.wait_for(calm.wait(), 600)
        finally:
            if calm.returncode is None:
                calm.kill()
                await calm.wait()
            calm_log.close()
        calm_orders = json.loads(calm_out.read_bytes()) if calm_out.exists() else []
    table = rows(chaos, calm_orders, chaos["windows"], start_ms)
    a: Audit = chaos["audit"]
    result = {
        "guarantee": chaos["guarantee"],
        "kills": chaos["worker_kills"] + chaos["broker_kills"],
        "worker_kills": chaos["worker_kills"],
        "worker_exits": chaos["worker_exits"],
        "broker_kills": chaos["broker_kills"],
        "events": chaos["events"],
        "signals": a.signals,
        "decisions": a.decisions,
        "orders": a.orders,
        "orders_calm": len(_normalised(calm_orders, start_ms)),
        "terminal": a.terminal,
        "duplicates": len(a.duplicates),
        "missing": len(a.missing),
        "position_mismatches": len(a.position_mismatches),
        "breaches": len(chaos["breaches"]),
        "chain_ok": chaos["chain_ok"],
        "exceptions": chaos["exceptions"],
        "deterministic": bool(calm_orders) and all(r["deterministic"] for r in table),
        "windows": {w.kind: [round(w.start_s), round(w.end_s)] for w in chaos["windows"]},
        "feed_s": chaos["feed_s"],
        "rows": table,
    }
    ok = (
        all(clean(r) for r in table)
        and result["deterministic"]
        and not (a.duplicates or a.missing or a.position_mismatches or chaos["breaches"])
        and chaos["chain_ok"] is True
    )
    result["ok"] = ok
    print(
        f"fault matrix under {result['guarantee']}: {result['kills']} kills "
        f"({result['broker_kills']} of the broker)"
    )
    print(
        f"  {'kind':<16}{'injected':>9}{'dup':>5}{'miss':>6}{'unterm':>8}{'pos':>5}{'chain':>7}"
        f"{'breach':>8}{'orders':>8}  det"
    )
    for r in table:
        print(
            f"  {r['kind']:<16}{r.get('injected', '-')!s:>9}{r['duplicates']:>5}{r['missing_decisions']:>6}"
            f"{r['unterminated']:>8}{r.get('position_mismatches', '-')!s:>5}{r.get('chain_ok', '-')!s:>7}"
            f"{r['breaches']:>8}{r.get('orders', '-')!s:>8}  {r['deterministic']}"
        )
    for line in (a.duplicates + a.missing + a.position_mismatches + chaos["breaches"])[:20]:
        print(f"  ! {line}")
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
