"""The paper venue: fills orders with the pools' own integer maths against the state they were priced on.

The fill itself is deterministic: the same order and wallet always give the same amounts. Without a
chain, the `signature` is base58(sha256(order id)), a stand-in with the right shape that is unique per
order. Given a `chain.local.LocalChain`, every filled order is settled on it as one real signed
transaction and the fill carries that transaction's signature; failed fills send nothing. The chain
settles an order at most once, so an execution batch that rolls back and re-runs the (deterministic)
fill gets the same signature back instead of a second transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.errors import VenueRejected
from market import amm
from market import bonding_curve as bc
from market.fills import (
    CURVE_COMPLETE,
    FILLED,
    INSUFFICIENT_BALANCE,
    NO_LIQUIDITY,
    SLIPPAGE,
    failed_fill,
    fill_id,
    input_mint,
)
from streams.records import Fill, Order, PoolState
from venues.base import Venue

if TYPE_CHECKING:
    from chain.local import LocalChain

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BONDING_CURVE_VENUES = frozenset({"pumpfun"})


def b58encode(data: bytes) -> str:
    """Bitcoin-alphabet base58, as Solana prints signatures and keys."""
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, digit = divmod(number, 58)
        out.append(_B58[digit])
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zeros + "".join(reversed(out))


def paper_signature(order_id: str) -> str:
    return b58encode(hashlib.sha256(order_id.encode("utf-8")).digest())


def human_price(base_amount: int, quote_amount: int, state: PoolState) -> float:
    """Quote per base in human units; 0.0 when no base moved."""
    if base_amount <= 0:
        return 0.0
    return (quote_amount / 10**state.quote_decimals) / (base_amount / 10**state.base_decimals)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What a swap would move, before the slippage check: amounts in raw units."""

    base: int = 0
    quote: int = 0  # paid for a buy (fee included), received for a sell (fee deducted)
    fee_quote: int = 0
    out: int = 0  # the amount the slippage bound applies to
    reason: str = ""


def _constant_product(order: Order) -> _Outcome:
    state = order.pool_state
    if state.base_reserve <= 0 or state.quote_reserve <= 0:
        return _Outcome(reason=NO_LIQUIDITY)
    if order.side == "buy":
        result = amm.swap(order.amount_in, state.quote_reserve, state.base_reserve, state.fee_bps)
        return _Outcome(
            base=result.amount_out, quote=order.amount_in, fee_quote=result.fee, out=result.amount_out
        )
    result = amm.swap(order.amount_in, state.base_reserve, state.quote_reserve, state.fee_bps)
    # The AMM takes its fee from the input, i.e. in base; report it in quote at the pre-trade spot
    # price (floor), so fee_quote means the same thing for every venue.
    fee_quote = result.fee * state.quote_reserve // state.base_reserve
    return _Outcome(base=order.amount_in, quote=result.amount_out, fee_quote=fee_quote, out=result.amount_out)


def _bonding_curve(order: Order) -> _Outcome:
    state = order.pool_state
    if state.real_base_reserve <= 0:
        return _Outcome(reason=CURVE_COMPLETE)
    if state.base_reserve <= 0 or state.quote_reserve <= 0:
        return _Outcome(reason=NO_LIQUIDITY)
    # PoolState carries no real SOL reserve, so sells are not capped by it (real_sol_reserves=0 means
    # "unknown" to the curve maths); the virtual reserves price the trade exactly either way.
    curve = bc.Curve(
        virtual_token_reserves=state.base_reserve,
        virtual_sol_reserves=state.quote_reserve,
        real_token_reserves=state.real_base_reserve,
    )
    if order.side == "buy":
        tokens, sol_into_curve, fee = bc.buy_with_sol(curve, order.amount_in, state.fee_bps)
        if tokens >= curve.real_token_reserves:
            # The curve sells out: pay only for the tokens it has left, as the program charges.
            tokens, sol_into_curve, fee = bc.buy_cost(curve, curve.real_token_reserves, state.fee_bps)
        return _Outcome(base=tokens, quote=sol_into_curve + fee, fee_quote=fee, out=tokens)
    gross, fee = bc.sell_proceeds(curve, order.amount_in, state.fee_bps)
    received = max(0, gross - fee)
    return _Outcome(base=order.amount_in, quote=received, fee_quote=fee, out=received)


class PaperVenue(Venue):
    """Simulated execution with fees and price impact, for paper trading and tests."""

    name = "paper"

    def __init__(self, chain: LocalChain | None = None) -> None:
        self.chain = chain

    async def execute(self, order: Order, wallet: Mapping[str, int], now_ms: int) -> Fill:
        return self.fill(order, wallet, now_ms)

    def fill(self, order: Order, wallet: Mapping[str, int], now_ms: int) -> Fill:
        """The synchronous core of `execute`: the wallet is only read; with a chain, a fill is settled
        there (an in-process VM: microseconds, so it stays synchronous rather than awaiting)."""
        if order.side not in ("buy", "sell"):
            raise VenueRejected(f"order {order.id}: side must be 'buy' or 'sell', not {order.side!r}")
        if order.amount_in <= 0 or order.min_amount_out < 0:
            raise VenueRejected(f"order {order.id}: amount_in must be > 0 and min_amount_out >= 0")
        if order.pool_state.pool != order.pool:
            raise VenueRejected(
                f"order {order.id}: pool_state is for {order.pool_state.pool}, not {order.pool}"
            )
        if wallet.get(input_mint(order), 0) < order.amount_in:
            return failed_fill(order, now_ms, INSUFFICIENT_BALANCE)
        if order.venue in BONDING_CURVE_VENUES:
            outcome = _bonding_curve(order)
        else:
            outcome = _constant_product(order)
        if outcome.reason:
            return failed_fill(order, now_ms, outcome.reason)
        if outcome.out <= 0 or outcome.base <= 0:
            return failed_fill(order, now_ms, NO_LIQUIDITY)
        if outcome.out < order.min_amount_out:
            return failed_fill(order, now_ms, SLIPPAGE)
        state = order.pool_state
        fill = Fill(
            id=fill_id(order.id),
            order_id=order.id,
            pair=order.pair,
            side=order.side,
            status=FILLED,
            reason="",
            venue=order.venue,
            pool=order.pool,
            base_amount=outcome.base,
            quote_amount=outcome.quote,
            fee_quote=outcome.fee_quote,
            price=human_price(outcome.base, outcome.quote, state),
            base_decimals=state.base_decimals,
            quote_decimals=state.quote_decimals,
            signature=paper_signature(order.id),
            ts_ms=order.ts_ms,
            origin_ms=order.origin_ms,
            filled_ms=now_ms,
        )
        if self.chain is None:
            return fill
        return fill.derive(signature=self.chain.settle(order, fill))
