"""The paper venue with a local chain: filled orders carry a real signature, failed ones send nothing."""

from __future__ import annotations

from types import MappingProxyType

from solders.signature import Signature
from solders.transaction_metadata import TransactionMetadata

from chain.local import LocalChain
from market.fills import mint_flows
from market.tokens import USDC, WSOL
from streams.records import Order, PoolState
from venues.interface import PreparedTx, Refused, Venue
from venues.paper.execution import PaperVenue, paper_signature

STATE = PoolState(
    venue="orca",
    pool="pool-on-chain",
    base_mint=WSOL,
    quote_mint=USDC,
    base_decimals=9,
    quote_decimals=6,
    base_reserve=10_000 * 10**9,
    quote_reserve=1_500_000 * 10**6,
    fee_bps=30,
)
WALLET = MappingProxyType({WSOL: 10 * 10**9, USDC: 1_000 * 10**6})


def order(oid: str, side: str = "buy", amount_in: int = 100 * 10**6, min_out: int = 0) -> Order:
    return Order(
        id=oid,
        signal_id="sig",
        pair="SOL/USDC",
        side=side,
        amount_in=amount_in,
        min_amount_out=min_out,
        venue=STATE.venue,
        pool=STATE.pool,
        pool_state=STATE,
        kind="entry",
        reason="test",
        ts_ms=1,
        origin_ms=1,
        decided_ms=1,
    )


def funded_chain() -> LocalChain:
    chain = LocalChain({WSOL: 9, USDC: 6})
    chain.fund_wallet(WALLET)
    return chain


async def test_filled_order_carries_the_settlement_signature() -> None:
    chain = funded_chain()
    venue = PaperVenue(chain)
    assert isinstance(venue, Venue)
    o = order("ord:chain:1")
    fill = await venue.execute(o, WALLET, now_ms=10)
    assert fill.status == "filled"
    assert fill.signature == chain.signature_of(o.id) != paper_signature(o.id)
    assert isinstance(chain.svm.get_transaction(Signature.from_string(fill.signature)), TransactionMetadata)
    expected = dict(WALLET)
    for mint, delta in mint_flows(o, fill).items():
        expected[mint] += delta
    assert chain.balances() == expected


async def test_failed_fills_send_nothing() -> None:
    chain = funded_chain()
    venue = PaperVenue(chain)
    sent = chain.transactions_sent
    slipped = await venue.execute(order("ord:slip", min_out=10**20), WALLET, now_ms=10)
    broke = await venue.execute(order("ord:broke", amount_in=10**12), WALLET, now_ms=10)
    assert (slipped.reason, broke.reason) == ("slippage", "insufficient_balance")
    assert slipped.signature == broke.signature == ""
    assert chain.transactions_sent == sent
    assert chain.balances() == dict(WALLET)


async def test_re_executing_an_order_returns_the_same_fill_without_a_second_transaction() -> None:
    """What the execution sink does after a rolled-back batch: the same order against the same wallet."""
    chain = funded_chain()
    venue = PaperVenue(chain)
    o = order("ord:retry", side="sell", amount_in=2 * 10**9)
    first = await venue.execute(o, WALLET, now_ms=10)
    sent = chain.transactions_sent
    second = await venue.execute(o, WALLET, now_ms=20)
    assert second.signature == first.signature
    assert (second.base_amount, second.quote_amount) == (first.base_amount, first.quote_amount)
    assert chain.transactions_sent == sent


async def test_without_a_chain_the_signature_stays_the_paper_stand_in() -> None:
    fill = await PaperVenue().execute(order("ord:nochain"), WALLET, now_ms=10)
    assert fill.signature == paper_signature("ord:nochain")


async def test_its_life_cycle_hooks_give_exactly_its_fill() -> None:
    """The trivial life cycle: prepare sends nothing, broadcast has nothing to send, finalize books and
    settles; run by hand they give what `execute` gives."""
    by_hooks, by_execute = funded_chain(), funded_chain()
    o = order("ord:hooks", side="sell", amount_in=3 * 10**9)
    venue = PaperVenue(by_hooks)
    prepared = await venue.prepare(o, WALLET)
    assert isinstance(prepared, PreparedTx) and prepared.raw_base64 == ""
    assert by_hooks.transactions_sent == by_execute.transactions_sent
    await venue.broadcast(prepared.raw_base64)
    fill = venue.finalize(o, prepared.landing(), 10)
    expected = await PaperVenue(by_execute).execute(o, WALLET, now_ms=10)
    assert fill.asdict() | {"signature": ""} == expected.asdict() | {"signature": ""}
    assert fill.signature == by_hooks.signature_of(o.id)
    assert by_hooks.balances() == by_execute.balances()
    assert await venue.prepare(order("ord:slip2", min_out=10**20), WALLET) == Refused("slippage")
