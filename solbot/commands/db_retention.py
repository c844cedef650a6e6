"""`solbot retention [--keep-days N]`: create market-data partitions ahead, drop those past retention.

Meant to run daily (cron, a systemd timer, or a supervisor): partitions are created two days ahead, so
a missed day or two costs nothing; rows beyond them would land in the default partition anyway.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import asyncpg

from core.errors import ServiceError
from core.settings import Settings
from services.stack import Stack
from store.retention import apply_retention, ensure_partitions, has_market_data, is_timescale


def add_parser(subparsers: Any) -> None:
    """Add `retention`."""
    p = subparsers.add_parser("retention", help="create market-data partitions ahead and drop expired ones")
    p.add_argument("--keep-days", type=int, default=90, help="days of market data to keep (default 90)")
    p.add_argument("--days-ahead", type=int, default=2, help="daily partitions to create ahead (default 2)")


async def run_retention(
    database_url: str, *, keep_days: int, days_ahead: int
) -> tuple[list[str], list[str], bool]:
    """(partitions created, partitions or chunks dropped, is TimescaleDB)."""
    try:
        conn = await asyncpg.connect(database_url)
    except (OSError, asyncpg.PostgresError) as exc:
        raise ServiceError(f"cannot connect to Postgres: {exc}") from exc
    try:
        if not await has_market_data(conn):
            raise ServiceError("no market_data table: run `solbot db migrate` first")
        timescale = await is_timescale(conn)
        created = await ensure_partitions(conn, days_ahead=days_ahead)
        dropped = await apply_retention(conn, keep_days=keep_days)
    finally:
        await conn.close()
    return created, dropped, timescale


def main(settings: Settings, args: argparse.Namespace) -> int:
    if args.keep_days < 0 or args.days_ahead < 0:
        print("solbot: bad option: --keep-days and --days-ahead must be >= 0", file=sys.stderr)
        return 2
    with Stack(settings) as stack:
        created, dropped, timescale = asyncio.run(
            run_retention(stack.database_url, keep_days=args.keep_days, days_ahead=args.days_ahead)
        )
    if timescale:
        print("market_data is a TimescaleDB hypertable: chunks are created on insert")
    print(f"created: {', '.join(created) if created else 'nothing (partitions exist)'}")
    print(f"dropped (older than {args.keep_days} days): {', '.join(dropped) if dropped else 'nothing'}")
    return 0
