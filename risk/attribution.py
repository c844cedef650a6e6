"""Positions attributed to who opened them: a lot per strategy (or per order kind: `rebalance`, `manual`).

A pair has one position (one wallet balance, one entry price), split into lots: a strategy's buy fills
its own lot, and a strategy's sell closes that lot only, never a lot another strategy opened. Protective
exits (stops, flatten, an operator's close) sell the whole position, every lot. Base units no lot claims
(a state saved before lots existed) belong to the position's opener (`Position.strategy`).
"""

from __future__ import annotations

from risk.codes import MANUAL_KIND
from risk.state import PendingOrder, Position


def owner_of(pending: PendingOrder | None) -> str:
    """The lot an order's fill moves: its strategy, else its kind; a fill with no order is an operator's."""
    if pending is None:
        return MANUAL_KIND
    return pending.strategy or pending.kind


def unclaimed(pos: Position) -> int:
    return max(0, pos.base_amount - sum(pos.lots.values()))


def lot_of(pos: Position, owner: str) -> int:
    """Raw base units of the position `owner` holds."""
    held = pos.lots.get(owner, 0)
    if owner and owner == pos.strategy:
        held += unclaimed(pos)
    return min(held, pos.base_amount)


def add_to_lot(pos: Position, owner: str, amount: int) -> None:
    if amount > 0:
        pos.lots[owner] = pos.lots.get(owner, 0) + amount


def take_from_lots(pos: Position, owner: str, sold: int) -> None:
    """Remove `sold` base units: from `owner`'s lot first, then what no lot claims, then the other lots
    in the order they were opened (a protective exit sells them all)."""
    left = sold
    mine = min(pos.lots.get(owner, 0), left)
    left -= mine
    left -= min(unclaimed(pos), left)  # before the lots shrink, the unclaimed part is measured
    if mine:
        pos.lots[owner] -= mine
    for name in list(pos.lots):
        if left <= 0:
            break
        take = min(pos.lots[name], left)
        pos.lots[name] -= take
        left -= take
    for name in [n for n, amount in pos.lots.items() if amount <= 0]:
        del pos.lots[name]
