"""A portfolio's holdings as the execution sink books them: `balances` (per mint) and `positions` (per pair).

Read by the web API (marked to market), the runner's equity line and `solbot portfolio rebuild`. Amounts
are raw integer units: `numeric(39,0)` is integral, so `int` is exact where a float would round.
"""

from __future__ import annotations

from dataclasses import dataclass

from store.db import Queryable


@dataclass(frozen=True, slots=True)
class Balance:
    mint: str
    amount: int  # raw units


@dataclass(frozen=True, slots=True)
class Position:
    pair: str  # BASE/QUOTE
    base_mint: str
    quote_mint: str
    base_decimals: int
    quote_decimals: int
    base_amount: int  # raw units
    cost_quote: int  # raw units, fees included
    realised_pnl_quote: float  # raw quote units


async def read_balances(db: Queryable, portfolio: str) -> list[Balance]:
    """The portfolio's balances, by mint."""
    rows = await db.fetch("SELECT mint, amount FROM balances WHERE portfolio = $1 ORDER BY mint", portfolio)
    return [Balance(row["mint"], int(row["amount"])) for row in rows]


async def read_positions(db: Queryable, portfolio: str) -> list[Position]:
    """The portfolio's positions by pair, closed ones included (base 0, their realised PnL kept)."""
    rows = await db.fetch(
        """
        SELECT pair, base_mint, quote_mint, base_decimals, quote_decimals, base_amount, cost_quote,
               realised_pnl_quote
        FROM positions WHERE portfolio = $1 ORDER BY pair
        """,
        portfolio,
    )
    return [
        Position(
            pair=row["pair"],
            base_mint=row["base_mint"],
            quote_mint=row["quote_mint"],
            base_decimals=row["base_decimals"],
            quote_decimals=row["quote_decimals"],
            base_amount=int(row["base_amount"]),
            cost_quote=int(row["cost_quote"]),
            realised_pnl_quote=float(row["realised_pnl_quote"]),
        )
        for row in rows
    ]
