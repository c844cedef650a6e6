"""The life cycle runs a venue's hooks: a market outcome `prepare` already knows fails the order unsent with
that reason, a malformed order is refused before anything is stored, and the fill is the venue's
`finalize` of what landed."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg
import pytest

from chain.rpc import RpcClient
from core.errors import VenueRejected
from market.fills import INSUFFICIENT_BALANCE
from streams.records import Fill, Order, PoolState
from venues.interface import Landing, PreparedTx, Refused, TransactionVenue
from venues.lifecycle import FAILED, LifecycleConfig, OrderLifecycle

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


def order(oid: str, side: str = "buy") -> Order:
    return Order(
        id=oid,
        signal_id="sig",
        pair="B/Q",
        side=side,
        amount_in=1_000,
        min_amount_out=0,
        venue="raydium",
        pool="p",
        pool_state=STATE,
        kind="entry",
        reason="t",
        ts_ms=7,
        origin_ms=6,
        decided_ms=7,
    )


class Refusing(TransactionVenue):
    """Knows before signing that the wallet cannot pay; must never send."""

    name = "refusing"

    def __init__(self) -> None:
        self.rpc = RpcClient("http://127.0.0.1:9")  # never called: nothing is ever sent
        self.wallets: list[Mapping[str, int]] = []
        self.finalized: list[Landing] = []

    async def prepare(self, order: Order, wallet: Mapping[str, int]) -> PreparedTx | Refused:
        self.wallets.append(wallet)
        return Refused(INSUFFICIENT_BALANCE)

    async def broadcast(self, raw_base64: str) -> None:
        raise AssertionError("a refused order sends nothing")

    def finalize(self, order: Order, landing: Landing, now_ms: int) -> Fill:
        self.finalized.append(landing)
        return super().finalize(order, landing, now_ms)


async def test_a_refusal_fails_the_order_unsent_with_its_reason(venue_db: asyncpg.Pool) -> None:
    venue = Refusing()
    lifecycle = OrderLifecycle(venue_db, venue, LifecycleConfig(poll_interval_s=0.01))
    try:
        fill = await lifecycle.execute(order("ord:poor"), {"QUOTE": 5}, now_ms=3)
        assert (fill.status, fill.reason) == ("failed", INSUFFICIENT_BALANCE)
        assert venue.wallets == [{"QUOTE": 5}]  # the snapshot reached `prepare`
        outcome = await lifecycle.outcome("ord:poor")
        assert (outcome.status, outcome.reason) == (FAILED, INSUFFICIENT_BALANCE)
        assert venue.finalized == []
    finally:
        await venue.rpc.close()


async def test_a_malformed_order_is_refused_before_anything_is_stored(venue_db: asyncpg.Pool) -> None:
    venue = Refusing()
    lifecycle = OrderLifecycle(venue_db, venue)
    try:
        with pytest.raises(VenueRejected):
            await lifecycle.run(order("ord:hold", side="hold"))
        async with venue_db.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM orders") == 0
        assert venue.wallets == []
    finally:
        await venue.rpc.close()
