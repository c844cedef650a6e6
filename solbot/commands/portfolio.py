"""`solbot portfolio rebuild`: replay the `executions` table (the fills) and check `balances`/`positions`.

The fills are the truth: replaying them over the opening paper wallet (PAPER_START_USDC / _SOL) must give
exactly the stored balances and positions, in raw integer units. Executions carry pairs, not mints, so a
pair's mints come from its `positions` row (kept after a position closes); amounts come from fills only.
Prints one line per difference and exits 1 if there is any, 0 if none, 2 if the database is unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from core.settings import Settings
from market.tokens import initial_wallet
from services.stack import services_status
from store.portfolio import read_balances, read_positions
from store.trades import ExecutionRow, read_executions


def add_parser(subparsers: Any) -> None:
    """Add `portfolio` to the `solbot` sub-commands."""
    parser = subparsers.add_parser("portfolio", help="rebuild balances and positions from the fills")
    parser.add_argument("action", choices=["rebuild"], help="replay the executions and compare")


@dataclass(slots=True)
class RebuiltPosition:
    base_amount: int = 0
    cost_quote: int = 0
    realised_pnl_quote: int = 0


def rebuild(
    executions: Iterable[ExecutionRow], opening: Mapping[str, int], pair_mints: Mapping[str, tuple[str, str]]
) -> tuple[dict[str, int], dict[str, RebuiltPosition], list[str]]:
    """Balances, positions and problems from the fills in execution order (the sink's own booking rules:
    a buy adds base and cost; a sell removes base and a pro-rata share of the cost, realising the rest)."""
    balances = dict(opening)
    positions: dict[str, RebuiltPosition] = {}
    problems: list[str] = []
    for row in executions:
        if row.status != "filled":
            continue
        mints = pair_mints.get(row.pair)
        if mints is None:
            problems.append(f"pair {row.pair}: fills but no positions row naming its mints")
            continue
        base, quote = mints
        pos = positions.setdefault(row.pair, RebuiltPosition())
        if row.side == "buy":
            balances[quote] = balances.get(quote, 0) - row.quote_amount
            balances[base] = balances.get(base, 0) + row.base_amount
            pos.base_amount += row.base_amount
            pos.cost_quote += row.quote_amount
        else:
            balances[base] = balances.get(base, 0) - row.base_amount
            balances[quote] = balances.get(quote, 0) + row.quote_amount
            if row.base_amount >= pos.base_amount:
                removed = pos.cost_quote
            else:
                removed = pos.cost_quote * row.base_amount // pos.base_amount
            pos.base_amount = max(0, pos.base_amount - row.base_amount)
            pos.cost_quote -= removed
            pos.realised_pnl_quote += row.quote_amount - removed
    return balances, positions, problems


def compare(
    rebuilt_balances: Mapping[str, int],
    stored_balances: Mapping[str, int],
    rebuilt_positions: Mapping[str, RebuiltPosition],
    stored_positions: Mapping[str, RebuiltPosition],
) -> list[str]:
    """One line per difference (a mint or pair missing on one side counts as zero)."""
    lines = []
    for mint in sorted(set(rebuilt_balances) | set(stored_balances)):
        fills, table = rebuilt_balances.get(mint, 0), stored_balances.get(mint, 0)
        if fills != table:
            lines.append(f"balance {mint}: fills {fills} table {table} (table - fills = {table - fills:+d})")
    zero = RebuiltPosition()
    for pair in sorted(set(rebuilt_positions) | set(stored_positions)):
        fills_pos, table_pos = rebuilt_positions.get(pair, zero), stored_positions.get(pair, zero)
        for name in ("base_amount", "cost_quote", "realised_pnl_quote"):
            a, b = getattr(fills_pos, name), getattr(table_pos, name)
            if a != b:
                lines.append(f"position {pair} {name}: fills {a} table {b} (table - fills = {b - a:+d})")
    return lines


async def check(database_url: str, portfolio: str, opening: Mapping[str, int]) -> list[str]:
    """Read the portfolio's executions, balances and positions, and return the differences."""
    conn = await asyncpg.connect(database_url)
    try:
        executions = await read_executions(conn, portfolio)
        stored_balances = {b.mint: b.amount for b in await read_balances(conn, portfolio)}
        rows = await read_positions(conn, portfolio)
    finally:
        await conn.close()
    pair_mints = {r.pair: (r.base_mint, r.quote_mint) for r in rows}
    stored_positions = {
        r.pair: RebuiltPosition(r.base_amount, r.cost_quote, round(r.realised_pnl_quote)) for r in rows
    }
    if not stored_balances and not executions:
        return []  # nothing traded and no wallet seeded yet: nothing to compare
    balances, positions, problems = rebuild(executions, opening, pair_mints)
    return problems + compare(balances, stored_balances, positions, stored_positions)


def main(settings: Settings, args: argparse.Namespace) -> int:
    url, running = services_status(settings)["postgres"]
    if not url or not running:
        print("solbot: no database: set DATABASE_URL or start one with `solbot services up`", file=sys.stderr)
        return 2
    opening = initial_wallet(settings.paper_start_usdc, settings.paper_start_sol)
    try:
        lines = asyncio.run(check(url, settings.portfolio, opening))
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"solbot: portfolio rebuild: database error: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    if lines:
        print(f"solbot: {len(lines)} difference(s) between the fills and the tables", file=sys.stderr)
        return 1
    print("portfolio rebuild: balances and positions match the fills")
    return 0
