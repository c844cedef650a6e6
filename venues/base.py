"""The one venue interface: paper now; Jupiter, Pump.fun, Drift and Jito implement the same thing later.

It is deliberately one method. The execution sink reads the wallet inside its Postgres transaction and
hands a read-only copy to the venue; the venue answers with a `Fill` that states exactly what moved.
The sink then books the fill, deriving balance changes only through `mint_flows` — so the venue, not
the sink, is the single authority on amounts, and swapping paper for a live venue changes nothing in
the store. Market outcomes (slippage, balance, liquidity) are *failed fills*, because they are the
order's terminal outcome and must be recorded; a venue raises `VenueRejected` for an order it cannot
even attempt (malformed), and any other `VenueError` for a transient failure worth retrying.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from streams.records import Fill, Order

FILLED = "filled"
FAILED = "failed"

# Reason codes of failed fills, shared by every venue.
SLIPPAGE = "slippage"
INSUFFICIENT_BALANCE = "insufficient_balance"
NO_LIQUIDITY = "no_liquidity"
CURVE_COMPLETE = "curve_complete"
INVALID_ORDER = "invalid_order"


@runtime_checkable
class Venue(Protocol):
    """Executes one order against a wallet snapshot it must not mutate."""

    name: str

    async def execute(self, order: Order, wallet: Mapping[str, int], now_ms: int) -> Fill:
        """Return the order's terminal fill: what was bought and paid (or why nothing moved)."""
        ...


def fill_id(order_id: str) -> str:
    """Deterministic, so a fill re-sent from the outbox is recognised by every consumer."""
    return f"fill:{order_id}"


def input_mint(order: Order) -> str:
    """The mint an order spends: quote for a buy, base for a sell."""
    state = order.pool_state
    return state.quote_mint if order.side == "buy" else state.base_mint


def mint_flows(order: Order, fill: Fill) -> dict[str, int]:
    """Balance deltas by mint for a fill (spent mint negative, received positive); empty if it failed."""
    if fill.status != FILLED:
        return {}
    state = order.pool_state
    if order.side == "buy":
        return {state.quote_mint: -fill.quote_amount, state.base_mint: fill.base_amount}
    return {state.base_mint: -fill.base_amount, state.quote_mint: fill.quote_amount}


def failed_fill(order: Order, now_ms: int, reason: str) -> Fill:
    """An order's failed outcome: nothing moved and nothing was sent, so no amounts and no signature."""
    state = order.pool_state
    return Fill(
        id=fill_id(order.id),
        order_id=order.id,
        pair=order.pair,
        side=order.side,
        status=FAILED,
        reason=reason,
        venue=order.venue,
        pool=order.pool,
        base_amount=0,
        quote_amount=0,
        fee_quote=0,
        price=0.0,
        base_decimals=state.base_decimals,
        quote_decimals=state.quote_decimals,
        signature="",
        ts_ms=order.ts_ms,
        origin_ms=order.origin_ms,
        filled_ms=now_ms,
    )
