"""`solbot rebalance PAIR=FRACTION ...`: ask the risk agent to move positions toward target allocations.

Publishes one `Control(action="rebalance", targets=...)` on the `control` topic (key = portfolio). The
risk agent sends slices toward fraction x equity for each pair (buys within every risk limit, a target
above `MAX_POSITION_PCT` capped; reductions always), re-plans on each fill, and ends with a
`rebalance_done` or `rebalance_incomplete` alert (after `REBALANCE_DEADLINE_S`) naming the residuals.
Prints the record sent as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from typing import Any

from aiokafka.errors import KafkaError

from core.settings import Settings
from risk.rebalance import validate_targets
from services.stack import services_status
from solbot.cli_audit import audit_cli_action
from solbot.commands.control import publish
from streams.broker import bootstrap_of
from streams.broker_auth import broker_auth
from streams.codec import encode
from streams.records import Control


def add_parser(subparsers: Any) -> None:
    """Add `rebalance` to the `solbot` sub-commands."""
    p = subparsers.add_parser("rebalance", help="move positions toward target fractions of equity")
    p.add_argument("targets", nargs="+", metavar="PAIR=FRACTION", help="e.g. JUP/USDC=0.04 (0 sells all)")
    p.add_argument("--reason", default="operator", help="why (recorded in the control record)")


def parse_targets(items: list[str]) -> tuple[dict[str, float], list[str]]:
    """PAIR=FRACTION arguments -> targets, and the arguments that are not of that form."""
    targets: dict[str, float] = {}
    bad: list[str] = []
    for item in items:
        pair, sep, value = item.partition("=")
        try:
            if not sep or pair in targets:
                raise ValueError(item)
            targets[pair] = float(value)
        except ValueError:
            bad.append(item)
    return targets, bad


def rebalance_record(targets: dict[str, float], reason: str, ts_ms: int | None = None) -> Control:
    ts = int(time.time() * 1000) if ts_ms is None else ts_ms
    return Control(
        id=f"ctl:rebalance:{ts}:{uuid.uuid4().hex[:8]}",
        action="rebalance",
        reason=reason,
        flatten=False,
        ts_ms=ts,
        targets=dict(targets),
    )


def main(settings: Settings, args: argparse.Namespace) -> int:
    targets, bad = parse_targets(args.targets)
    if bad:
        print(f"solbot: not PAIR=FRACTION (or repeated): {' '.join(bad)}", file=sys.stderr)
        return 2
    errors = validate_targets(targets, settings.pairs, 1.0)
    if errors:
        said = "; ".join(f"{field or 'targets'}: {message}" for field, message in errors.items())
        print(f"solbot: {said}", file=sys.stderr)
        return 2
    cap = settings.max_position_pct / 100.0
    for pair, fraction in targets.items():
        if fraction > cap:
            print(f"solbot: {pair}: {fraction:g} is above MAX_POSITION_PCT, risk caps it at {cap:g}")
    url, running = services_status(settings)["broker"]
    if not url or not running:
        print("solbot: no broker: set BROKER_URL or start one with `solbot services up`", file=sys.stderr)
        return 1
    control = rebalance_record(targets, args.reason)
    unaudited = audit_cli_action(
        settings, "rebalance", "", {"targets": targets, "reason": args.reason, "id": control.id}
    )
    try:
        auth = broker_auth(settings)
        asyncio.run(publish(bootstrap_of(url), settings.portfolio, control, settings.topic_partitions, auth))
    except (KafkaError, OSError) as exc:
        print(f"solbot: rebalance not sent: {exc}" + (f"; {unaudited}" if unaudited else ""), file=sys.stderr)
        return 1
    if unaudited:
        print(f"solbot: rebalance: {unaudited}", file=sys.stderr)
    print(encode(control).decode())
    return 0
