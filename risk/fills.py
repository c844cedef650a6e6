"""A fill applied to the risk state: the order's reservation released, balances and the position moved.

The fill is the truth: balances move by the fill's amounts, not the order's.
"""

from __future__ import annotations

import logging

from market.fills import FILLED
from risk.attribution import add_to_lot, owner_of, take_from_lots
from risk.breakers import advance_clock, check_drawdown, record_venue_outcome
from risk.codes import NOT_THE_VENUES, reason_code
from risk.limits import RiskLimits
from risk.state import RECENT_IDS_KEPT, PairInfo, Position, RiskState, remember
from streams.records import Fill

logger = logging.getLogger(__name__)


def apply_fill(state: RiskState, fill: Fill, limits: RiskLimits | None = None) -> None:
    """Release the order's reservation; on "filled" move balances and update the position.

    Idempotent by fill id (a bounded memory of recent ids) on top of the agent's offset guard. With
    `limits`, the breakers are checked at once (fees lower equity); without, the next decision or exit
    check does it.
    """
    if fill.id in state.recent_fills:
        return
    remember(state.recent_fills, fill.id, RECENT_IDS_KEPT)
    pending = state.pending.pop(fill.order_id, None)
    if limits is not None:
        if fill.venue and reason_code(fill.reason) not in NOT_THE_VENUES:
            record_venue_outcome(state, fill.venue, fill.status != FILLED, limits)
        advance_clock(state, fill.ts_ms, limits)
    if fill.network_fee_lamports:
        # The transaction's own cost, paid in SOL whether or not the swap filled.
        state.balances[state.sol_mint] = state.balances.get(state.sol_mint, 0) - fill.network_fee_lamports
    if fill.status != FILLED:
        if pending is not None and pending.side == "buy" and fill.pair in state.launch_notional:
            state.launch_notional[fill.pair] = max(
                0.0, state.launch_notional[fill.pair] - pending.notional_usdc
            )
        forget_pools(state, fill.pair)
        return
    info = state.pairs.get(fill.pair)
    if info is None:
        logger.error("fill %s for order %s: unknown pair %s, not applied", fill.id, fill.order_id, fill.pair)
        return
    base, quote = info.base_mint, info.quote_mint
    if fill.side == "buy":
        state.balances[quote] = state.balances.get(quote, 0) - fill.quote_amount
        state.balances[base] = state.balances.get(base, 0) + fill.base_amount
        _add_to_position(state, info, fill, owner_of(pending))
        held = state.positions.get(fill.pair)
        if held is not None and pending is not None and pending.strategy and not held.strategy:
            held.strategy = pending.strategy
    elif fill.side == "sell":
        state.balances[base] = state.balances.get(base, 0) - fill.base_amount
        state.balances[quote] = state.balances.get(quote, 0) + fill.quote_amount
        _reduce_position(state, fill, owner_of(pending))
    else:
        logger.error("fill %s for order %s: unknown side %r, not applied", fill.id, fill.order_id, fill.side)
        return
    forget_pools(state, fill.pair)
    if limits is not None:
        check_drawdown(state, limits)


def forget_pools(state: RiskState, pair: str) -> None:
    """Pools are kept only while the pair is held or has an order in flight."""
    if pair in state.rebalance.get("targets", {}):
        return  # a rebalance prices its next slice on them
    if pair not in state.positions and all(p.pair != pair for p in state.pending.values()):
        state.pools.pop(pair, None)


def _add_to_position(state: RiskState, info: PairInfo, fill: Fill, owner: str) -> None:
    if fill.base_amount <= 0:
        return
    pos = state.positions.get(fill.pair)
    if pos is None:
        pos = Position(
            pair=fill.pair,
            base_mint=info.base_mint,
            quote_mint=info.quote_mint,
            base_decimals=info.base_decimals,
            quote_decimals=info.quote_decimals,
            base_amount=0,
            cost_quote=0,
            entry_price=0.0,
            realised_pnl_quote=0.0,
            opened_ts_ms=fill.ts_ms,
            high_price=fill.price,
        )
        state.positions[fill.pair] = pos
    add_to_lot(pos, owner, fill.base_amount)
    pos.base_amount += fill.base_amount
    pos.cost_quote += fill.quote_amount
    pos.entry_price = (pos.cost_quote / 10**pos.quote_decimals) / (pos.base_amount / 10**pos.base_decimals)


def _reduce_position(state: RiskState, fill: Fill, owner: str) -> None:
    pos = state.positions.get(fill.pair)
    if pos is None or fill.base_amount <= 0:
        return
    sold = min(fill.base_amount, pos.base_amount)
    released = pos.cost_quote if sold == pos.base_amount else pos.cost_quote * sold // pos.base_amount
    # Proceeds beyond the position (never expected) would otherwise be booked as pure profit.
    proceeds = fill.quote_amount * sold // fill.base_amount
    pnl = (proceeds - released) / 10**pos.quote_decimals
    pos.realised_pnl_quote += pnl
    state.realised_pnl[fill.pair] = state.realised_pnl.get(fill.pair, 0.0) + pnl
    take_from_lots(pos, owner, sold)
    pos.base_amount -= sold
    pos.cost_quote -= released
    if pos.base_amount == 0:
        del state.positions[fill.pair]
