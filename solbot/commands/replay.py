"""`solbot replay FILE [--speed X | --max]`: a recording back into its topics, same key, same order."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from backtest.recording import replay
from core.settings import Settings
from solbot.commands.topics import broker_bootstrap
from streams.broker_auth import broker_auth


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("replay", help="play a recording back into the raw topics")
    p.add_argument("file", type=Path, help="a recording (`solbot record`, JSON Lines, .gz: gzip)")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=1.0, help="event time per wall time (default 1.0)")
    pace.add_argument("--max", action="store_true", help="as fast as the broker takes it")


def main(settings: Settings, args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"solbot: no such file: {args.file}", file=sys.stderr)
        return 1
    if not args.max and args.speed <= 0:
        print("solbot: bad option --speed: must be > 0", file=sys.stderr)
        return 2
    bootstrap = broker_bootstrap(settings)
    if bootstrap is None:
        print("solbot: no broker: set BROKER_URL or start one with `solbot services up`", file=sys.stderr)
        return 1
    try:
        n = asyncio.run(
            replay(bootstrap, args.file, speed=args.speed, max_speed=args.max, auth=broker_auth(settings))
        )
    except KeyboardInterrupt:
        return 130
    print(f"solbot: replayed {n} records from {args.file}", file=sys.stderr)
    return 0
