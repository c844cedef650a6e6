"""The paper venue: fills orders with the pools' own integer maths against the state they were priced on.

The fill itself is deterministic: the same order and wallet always give the same amounts. Without a
chain, the `signature` is base58(sha256(order id)), a stand-in with the right shape that is unique per
order. Given a `chain.local.LocalChain`, every filled order is settled on it as one real signed
transaction and the fill carries that transaction's signature; failed fills send nothing. The chain
settles an order at most once, so an execution batch that rolls back and re-runs the (deterministic)
fill gets the same signature back instead of a second transaction.

Its life cycle (`venues.interface`) is the trivial one: `prepare` prices the order against the wallet
snapshot, there is nothing to broadcast, and `finalize` books the fill and settles it on the chain (the
paper venue lands when it books). `fill` is exactly prepare -> finalize, synchronously, so the
execution sink (inside its Postgres transaction) and the backtest run the one code path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from chain.borsh import b58encode
from core.errors import VenueRejected
from market import amm
from market import bonding_curve as bc
from market.fills import CURVE_COMPLETE, INSUFFICIENT_BALANCE, NO_LIQUIDITY, SLIPPAGE, failed_fill, input_mint
from market.venues import VenueName, is_bonding_curve
from streams.records import Fill, Order
from venues.interface import Landing, PreparedTx, Refused, Settlement, Venue, validate_order

if TYPE_CHECKING:
    from chain.local import LocalChain

__all__ = ["PaperVenue", "b58encode", "paper_signature"]


def paper_signature(order_id: str) -> str:
    """base58(sha256(order id)): a signature-shaped stand-in, unique per order, when there is no chain."""
    return b58encode(hashlib.sha256(order_id.encode("utf-8")).digest())


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
        tokens, sol_into_curve, fee = bc.buy_with_sol(
            curve, order.amount_in, state.fee_bps, state.creator_fee_bps
        )
        if tokens >= curve.real_token_reserves:
            # The curve sells out: pay only for the tokens it has left, as the program charges.
            tokens, sol_into_curve, fee = bc.buy_cost(
                curve, curve.real_token_reserves, state.fee_bps, state.creator_fee_bps
            )
        return _Outcome(base=tokens, quote=sol_into_curve + fee, fee_quote=fee, out=tokens)
    gross, fee = bc.sell_proceeds(curve, order.amount_in, state.fee_bps, state.creator_fee_bps)
    received = max(0, gross - fee)
    return _Outcome(base=order.amount_in, quote=received, fee_quote=fee, out=received)


class PaperVenue(Venue):
    """Simulated execution with fees and price impact, for paper trading and tests."""

    name: str = VenueName.PAPER.value
    settlement: ClassVar[Settlement] = Settlement.IN_TRANSACTION

    def __init__(self, chain: LocalChain | None = None) -> None:
        self.chain = chain

    async def execute(self, order: Order, wallet: Mapping[str, int], now_ms: int) -> Fill:
        return self.fill(order, wallet, now_ms)

    def fill(self, order: Order, wallet: Mapping[str, int], now_ms: int) -> Fill:
        """The synchronous core of `execute`: the wallet is only read; with a chain, a fill is settled
        there (an in-process VM: microseconds, so it stays synchronous rather than awaiting)."""
        prepared = self.price(order, wallet)
        if isinstance(prepared, Refused):
            return failed_fill(order, now_ms, prepared.reason)
        return self.finalize(order, prepared.landing(), now_ms)

    def price(self, order: Order, wallet: Mapping[str, int]) -> PreparedTx | Refused:
        """What the order moves against the pool state it was priced on (the synchronous `prepare`)."""
        validate_order(order)
        if order.pool_state.pool != order.pool:
            raise VenueRejected(
                f"order {order.id}: pool_state is for {order.pool_state.pool}, not {order.pool}"
            )
        if wallet.get(input_mint(order), 0) < order.amount_in:
            return Refused(INSUFFICIENT_BALANCE)
        outcome = _bonding_curve(order) if is_bonding_curve(order.venue) else _constant_product(order)
        if outcome.reason:
            return Refused(outcome.reason)
        if outcome.out <= 0 or outcome.base <= 0:
            return Refused(NO_LIQUIDITY)
        if outcome.out < order.min_amount_out:
            return Refused(SLIPPAGE)
        spent, received = (
            (outcome.quote, outcome.base) if order.side == "buy" else (outcome.base, outcome.quote)
        )
        return PreparedTx(
            signature=paper_signature(order.id),
            raw_base64="",  # nothing to send: the paper venue settles when it books
            last_valid_block_height=0,
            in_amount=spent,
            out_amount=received,
            unit_limit=0,
            unit_price=0,
            fee_quote=outcome.fee_quote,
        )

    async def prepare(self, order: Order, wallet: Mapping[str, int]) -> PreparedTx | Refused:
        return self.price(order, wallet)

    async def broadcast(self, raw_base64: str) -> None:
        """Nothing to send: the fill is settled on the local chain when `finalize` books it."""
        return None

    def finalize(self, order: Order, landing: Landing, now_ms: int) -> Fill:
        """The fill; with a chain, settled there (at most once per order) and carrying its signature."""
        fill = super().finalize(order, landing, now_ms)
        if self.chain is None:
            return fill
        return fill.derive(signature=self.chain.settle(order, fill))
