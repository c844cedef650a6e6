"""`solbot backtest FILE --orders OUT`: one JSON object per order a line, for scripts.

The contract (issue 22): `pair`, `side`, `kind`, `strategy`, `ts_ms`, `status`, `amount_in` and
`base_amount` (raw integers), `notional_usdc`, `impact_bps`, and `pool_state` (`venue`, `base_reserve`,
`quote_reserve`, `fee_bps`, `ts_ms`) of the state the order was priced on. `kind` is the order's kind
with `stop_loss` written `stop` (entry, exit, stop, take_profit, manual, rebalance, breaker). Beside the
contract, and free to grow: `id`, `reason` (a failed order's reason code, or why risk sent it),
`fill_ts_ms`, `fill_pool_state` (the state it filled on), `fee_usdc`, `network_fee_usdc`, `sandwich_usdc`.
`impact_bps` is how far the order's average price (pool fee included) is below the spot of the state it
was priced on, as the router measures it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from backtest.result import TradeRecord
from streams.records import PoolState
from venues.routing import Candidate

CONTRACT_KINDS = {"stop_loss": "stop"}


def _pool(state: PoolState) -> dict[str, Any]:
    return {
        "venue": state.venue,
        "pool": state.pool,
        "base_reserve": state.base_reserve,
        "quote_reserve": state.quote_reserve,
        "fee_bps": state.fee_bps,
        "ts_ms": state.ts_ms,
    }


def order_line(t: TradeRecord) -> dict[str, Any]:
    """One order as the contract writes it."""
    order, fill, state = t.order, t.fill, t.order.pool_state
    impact = Candidate(order.venue, order.pool, state=state).impact_bps(order.side, order.amount_in)
    return {
        "id": order.id,
        "pair": order.pair,
        "side": order.side,
        "kind": CONTRACT_KINDS.get(order.kind, order.kind),
        "strategy": t.strategy,
        "ts_ms": order.ts_ms,
        "status": fill.status,
        "reason": fill.reason or order.reason,
        "amount_in": order.amount_in,
        "base_amount": fill.base_amount,
        "notional_usdc": round(t.notional_usdc, 6),
        "impact_bps": round(impact, 3),
        "pool_state": _pool(state),
        "fill_ts_ms": fill.filled_ms,
        "fill_pool_state": _pool(t.fill_state if t.fill_state is not None else state),
        "fee_usdc": round(t.fee_usdc, 6),
        "network_fee_usdc": round(t.network_fee_usdc, 6),
        "sandwich_usdc": round(t.sandwich_usdc, 6),
    }


def write_orders(path: Path, trades: Iterable[TradeRecord]) -> int:
    """Write the orders as JSON Lines; returns how many."""
    n = 0
    with path.open("wb") as out:
        for t in trades:
            out.write(orjson.dumps(order_line(t)) + b"\n")
            n += 1
    return n
