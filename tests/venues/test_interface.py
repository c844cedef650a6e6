"""The venue interface's shared parts: validation, which errors are worth retrying, how a landing is
booked, and the in-transaction driver refusing venues that send real transactions."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from core.errors import (
    BlockhashNotFound,
    CircuitOpen,
    DecodeError,
    NodeBehind,
    PreflightFailed,
    RpcRateLimited,
    RpcTimeout,
    SignatureVerificationFailed,
    StaleQuote,
    VenueError,
    VenueRejected,
)
from market.fills import mint_flows
from streams.records import Order, PoolState
from venues.interface import (
    Landing,
    PreparedTx,
    Refused,
    Settlement,
    TransactionVenue,
    retryable,
    validate_order,
)

STATE = PoolState(
    venue="raydium",
    pool="p",
    base_mint="BASE",
    quote_mint="QUOTE",
    base_decimals=6,
    quote_decimals=9,
    base_reserve=10**12,
    quote_reserve=10**13,
    fee_bps=25,
)


def order(side: str = "buy", amount_in: int = 1_000, min_out: int = 0) -> Order:
    return Order(
        id="ord:i",
        signal_id="sig",
        pair="B/Q",
        side=side,
        amount_in=amount_in,
        min_amount_out=min_out,
        venue="raydium",
        pool="p",
        pool_state=STATE,
        kind="entry",
        reason="t",
        ts_ms=7,
        origin_ms=6,
        decided_ms=7,
    )


class Scripted(TransactionVenue):
    name = "scripted"

    async def prepare(self, order: Order, wallet: Mapping[str, int]) -> PreparedTx | Refused:
        return Refused("slippage")

    async def broadcast(self, raw_base64: str) -> None:
        raise AssertionError("never sent")


def test_validation_refuses_what_no_venue_can_attempt() -> None:
    validate_order(order())
    for bad in (order(side="hold"), order(amount_in=0), order(min_out=-1)):
        with pytest.raises(VenueRejected):
            validate_order(bad)


@pytest.mark.parametrize(
    "exc,again",
    [
        (RpcTimeout("t"), True),
        (RpcRateLimited("429", 1.0), True),
        (BlockhashNotFound("b"), True),
        (NodeBehind("n"), True),
        (CircuitOpen("c"), True),
        (StaleQuote("s"), True),
        (VenueError("v"), True),
        (VenueRejected("r"), False),
        (PreflightFailed("p"), False),
        (SignatureVerificationFailed("s"), False),
        (DecodeError("d"), False),
        (ValueError("x"), False),
    ],
)
def test_what_is_worth_retrying(exc: BaseException, again: bool) -> None:
    assert retryable(exc) is again


def test_a_landing_is_booked_as_the_sides_amounts() -> None:
    venue = Scripted()
    buy = venue.finalize(order("buy"), Landing("sig1", in_amount=1_000, out_amount=90), 9)
    assert (buy.base_amount, buy.quote_amount, buy.signature, buy.filled_ms) == (90, 1_000, "sig1", 9)
    assert mint_flows(order("buy"), buy) == {"QUOTE": -1_000, "BASE": 90}
    sell = venue.finalize(order("sell"), Landing("sig2", in_amount=90, out_amount=1_000, fee_quote=3), 9)
    assert (sell.base_amount, sell.quote_amount, sell.fee_quote) == (90, 1_000, 3)
    tx = PreparedTx("sig3", "raw", 10, 5, 4, 1_000, 1, fee_quote=2)
    assert tx.landing() == Landing("sig3", 5, 4, 2) and tx.landing("other").signature == "other"


async def test_the_in_transaction_driver_refuses_a_venue_that_sends_transactions() -> None:
    venue = Scripted()
    assert venue.settlement is Settlement.LIFECYCLE
    with pytest.raises(VenueError, match="OrderLifecycle"):
        await venue.execute(order(), {}, 1)
