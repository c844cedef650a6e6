"""What a fill moves: statuses, reason codes and balance deltas every venue, the sink and the chain share.

A market outcome (slippage, balance, liquidity) is a *failed fill*: the order's terminal outcome, recorded
like any other. Balance changes are derived from a fill only through `mint_flows`, so the venue is the one
authority on amounts.
"""

from __future__ import annotations

from streams.records import Fill, Order

FILLED = "filled"
FAILED = "failed"

# Reason codes of failed fills, shared by every venue.
SLIPPAGE = "slippage"
INSUFFICIENT_BALANCE = "insufficient_balance"
NO_LIQUIDITY = "no_liquidity"
CURVE_COMPLETE = "curve_complete"
INVALID_ORDER = "invalid_order"
STALE_POOL = "stale_pool"  # the backtest had no recent state of the pool to fill on


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
