"""Price hygiene: which prices may touch equity, and which pairs move too fast to buy.

A price far from the pair's last accepted one (`price_outlier_pct`) is held back until a later price
confirms it: one bad print (a decoding slip, a feed's glitch) must never set peak equity or trip the
drawdown halt, while a real crash is accepted one price later. Accepted prices of the last
`pair_move_window_s` are kept per pair; a move wider than `pair_move_halt_pct` within it halts the pair's
buys for `pair_move_halt_s` (sells and exits go on). Pure functions of (state, price, event time, limits).
"""

from __future__ import annotations

from risk.limits import RiskLimits
from risk.state import RiskState

WINDOW_KEPT = 64  # accepted prices kept per pair: bounds the state whatever the feed's rate


def ratio_move_pct(a: float, b: float) -> float:
    """How far apart two positive prices are, in % of the smaller: symmetric, so a fall to a half and a
    rise to double are both 100 %."""
    lo, hi = (a, b) if a <= b else (b, a)
    return (hi / lo - 1.0) * 100.0


def accept_price(state: RiskState, pair: str, price: float, ts_ms: int, limits: RiskLimits) -> bool:
    """Whether `price` (positive, finite) may become the pair's price; an outlier is remembered instead.

    It is accepted when it is within `price_outlier_pct` of the last accepted price, or of a suspect held
    from an earlier event time (the move is then confirmed). The same price seen twice at the same event
    time (a signal's exit check and its decision) confirms nothing.
    """
    last = state.prices.get(pair)
    band = limits.price_outlier_pct
    if last is None or ratio_move_pct(price, last) <= band:
        state.suspect_prices.pop(pair, None)
        return True
    suspect = state.suspect_prices.get(pair)
    if suspect is not None and ts_ms > suspect[1] and ratio_move_pct(price, suspect[0]) <= band:
        del state.suspect_prices[pair]
        return True
    if suspect is None or ts_ms > suspect[1]:
        state.suspect_prices[pair] = [price, float(ts_ms)]
    return False


def record_move(
    state: RiskState, pair: str, price: float, ts_ms: int, limits: RiskLimits, *, falls_only: bool = False
) -> None:
    """Keep the accepted price in the pair's window and halt its buys on a move wider than the limit.

    `falls_only` (a bonding curve): only a fall from the window's high counts. A young curve's price
    rises tens of % in seconds while its buyers arrive, which is what a launch strategy buys; a two-sided
    measure halted every such curve, so the launch strategy's asks were all refused (56 of 57 on a
    10-minute recording). A fall that fast is a dump or a rug, and stops buys as on any pair.
    """
    window = state.price_window.setdefault(pair, [])
    window.append([float(ts_ms), price])
    oldest = ts_ms - limits.pair_move_window_s * 1000.0
    while window and (window[0][0] < oldest or len(window) > WINDOW_KEPT):
        window.pop(0)
    if falls_only:
        lo, hi, high = price, price, 0.0
        for _, p in window:  # the deepest fall from a high to a later price
            if p > high:
                high = p
            elif high / p > hi / lo:
                lo, hi = p, high
        what = "fell"
    else:
        prices = [p for _, p in window]
        lo, hi = min(prices), max(prices)
        what = "moved"
    move = ratio_move_pct(lo, hi)
    if move > limits.pair_move_halt_pct:
        reason = (
            f"{pair} {what} {move:.1f}% within {limits.pair_move_window_s:g}s > "
            f"{limits.pair_move_halt_pct:g}% (low {lo:.6g}, high {hi:.6g})"
        )
        state.pair_halts[pair] = [ts_ms + round(limits.pair_move_halt_s * 1000.0), reason]
    else:
        halt = state.pair_halts.get(pair)
        if halt is not None and halt[0] <= ts_ms:
            del state.pair_halts[pair]


def pair_halt(state: RiskState, pair: str, ts_ms: int) -> str:
    """Why the pair's buys are halted at `ts_ms`, else ""."""
    halt = state.pair_halts.get(pair)
    if halt is None or halt[0] <= ts_ms:
        return ""
    return str(halt[1])
