"""`solbot record --out FILE [--duration S] [--from-beginning] [--to-end]`: the raw topics to a file.

Reads the configured broker (BROKER_URL, else the one `solbot services up` started), like `solbot
topics`; it never starts a broker, since a fresh embedded one would be empty.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from backtest.recording import record
from core.settings import Settings
from services.reachable import require_reachable
from solbot.commands.topics import broker_bootstrap
from streams.broker_auth import broker_auth


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("record", help="record every raw topic to a JSON Lines file (.gz: gzip)")
    p.add_argument("--out", type=Path, required=True, help="file to write (gzip when it ends in .gz)")
    p.add_argument("--duration", type=float, default=None, help="stop after N seconds (default: Ctrl-C)")
    p.add_argument("--from-beginning", action="store_true", help="start at each partition's first record")
    p.add_argument("--to-end", action="store_true", help="stop at the end offsets as of the start")


def main(settings: Settings, args: argparse.Namespace) -> int:
    bootstrap = broker_bootstrap(settings)
    if bootstrap is None:
        print("solbot: no broker: set BROKER_URL or start one with `solbot services up`", file=sys.stderr)
        return 1
    require_reachable("BROKER_URL", settings.broker_url or f"kafka://{bootstrap}")
    if args.duration is not None and args.duration <= 0:
        print("solbot: bad option --duration: must be > 0", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    coro = record(
        bootstrap,
        args.out,
        from_beginning=args.from_beginning,
        duration_s=args.duration,
        to_end=args.to_end,
        auth=broker_auth(settings),
    )
    try:
        n = asyncio.run(coro)
    except KeyboardInterrupt:
        print(f"solbot: stopped; {args.out} holds what was recorded", file=sys.stderr)
        return 0
    print(f"solbot: recorded {n} records to {args.out}", file=sys.stderr)
    return 0
