"""Live trading's own notional caps, checked before anything of an order is signed or sent.

An order's notional is what it spends, valued in USDC: a buy spends quote, a sell spends base valued at its
pool's price; a SOL-quoted pair is converted at the SOL/USDC price given. An order that cannot be valued is
refused too: a cap that cannot be checked does not hold.
"""

from __future__ import annotations

from market.tokens import USDC, WSOL
from streams.records import Order

LIVE_CAP_ORDER = "live_cap_order"
LIVE_CAP_DAY = "live_cap_day"
LIVE_UNPRICED = "live_unpriced"


def notional_usdc(order: Order, sol_usdc: float | None) -> float | None:
    """What the order spends, in USDC; None when it cannot be valued (no price for its quote)."""
    state = order.pool_state
    if order.side == "buy":
        quote = order.amount_in / 10**state.quote_decimals
    else:
        if state.base_reserve <= 0:
            return None
        price = (state.quote_reserve / 10**state.quote_decimals) / (
            state.base_reserve / 10**state.base_decimals
        )
        quote = order.amount_in / 10**state.base_decimals * price
    if state.quote_mint == USDC:
        return quote
    if state.quote_mint == WSOL and sol_usdc is not None and sol_usdc > 0:
        return quote * sol_usdc
    return None


def cap_refusal(notional: float | None, day_total: float, max_order: float, max_day: float) -> str | None:
    """Why an order of `notional` must not go out given `day_total` already counted today; None if it may."""
    if notional is None:
        return LIVE_UNPRICED
    if notional > max_order:
        return f"{LIVE_CAP_ORDER}: {notional:.2f} > {max_order:.2f} USDC"
    if day_total + notional > max_day:
        return f"{LIVE_CAP_DAY}: {day_total:.2f} + {notional:.2f} > {max_day:.2f} USDC"
    return None
