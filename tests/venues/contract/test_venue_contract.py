"""The contract every venue in the registry passes (paper included), as `venues.interface` states it.

Each case runs on the registry entries that declare what it needs (`on_venues`, by capability): Drift has
no spot swap and Jito only relays other venues' transactions, so neither runs the order cases; nothing is
skipped.
"""

from __future__ import annotations

from types import MappingProxyType

import pytest
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from chain.local import LocalChain, memo_ix
from core.errors import VenueError, VenueRejected
from market.fills import FAILED, FILLED, SLIPPAGE, fill_id, mint_flows
from market.tokens import USDC
from market.venues import VenueName, kind_of
from sandbox.http import serve
from sandbox.jito import SandboxJito
from sandbox.rpc import SandboxRpc
from tests.venues.contract.conftest import SPOT_SWAP, Harness, on_venues, venues_with
from venues.fees import transaction_base64
from venues.interface import PreparedTx, Refused, Settlement, Venue, retryable
from venues.jito.execution import tip_instruction
from venues.registry import REGISTRY, Capability, VenueEntry


def moved(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {mint: after.get(mint, 0) - before.get(mint, 0) for mint in after.keys() | before.keys()}


def nonzero(flows: dict[str, int]) -> dict[str, int]:
    return {mint: delta for mint, delta in flows.items() if delta}


# -- every entry -----------------------------------------------------------------------------------------


def test_the_entry_is_consistent(entry: VenueEntry) -> None:
    """What an entry declares matches what it has, and its programs are real pubkeys."""
    assert kind_of(entry.name) is entry.kind
    for program in entry.program_ids:
        assert str(Pubkey.from_string(program)) == program
    assert set(entry.followed_programs) <= set(entry.program_ids)
    assert set(entry.log_decoders) <= set(entry.program_ids)
    assert set(entry.account_decoders) <= set(entry.program_ids)
    assert entry.has(Capability.SPOT_SWAP) == (entry.build is not None)
    assert entry.has(Capability.LOG_EVENTS) == bool(entry.log_decoders)
    assert entry.has(Capability.POOL_ACCOUNTS) == bool(entry.account_decoders)
    assert entry.has(Capability.MARKET_DATA) == (entry.data_client is not None)
    assert entry.has(Capability.BUNDLE_RELAY) == (entry.relay is not None)
    if entry.has(Capability.LOG_EVENTS):
        assert entry.decode_text is not None


# -- venues that execute orders ------------------------------------------------------------------------


@SPOT_SWAP
async def test_the_built_venue_is_the_entrys(entry: VenueEntry, harness: Harness) -> None:
    assert isinstance(harness.venue, Venue)
    assert harness.venue.name == entry.name
    assert harness.venue.settlement in tuple(Settlement)
    assert (harness.venue.settlement is Settlement.LIFECYCLE) == entry.has(Capability.NETWORK)


@SPOT_SWAP
async def test_a_buy_and_a_sell_fill_moving_exactly_their_mint_flows(harness: Harness) -> None:
    for oid, side, amount in (
        ("ord:buy", "buy", harness.buy_amount),
        ("ord:sell", "sell", harness.sell_amount),
    ):
        order = harness.order(oid, side, amount)
        before = harness.chain.balances()
        fill = await harness.execute(order, harness.wallet(), 2_000)
        assert fill.status == FILLED and fill.reason == "" and fill.order_id == oid
        assert fill.base_amount > 0 and fill.quote_amount > 0 and fill.signature
        flows = mint_flows(order, fill)
        assert nonzero(moved(before, harness.chain.balances())) == nonzero(flows)
        spent = order.pool_state.quote_mint if side == "buy" else order.pool_state.base_mint
        assert -flows[spent] <= amount  # never more than the order allowed


@SPOT_SWAP
async def test_an_order_past_its_slippage_bound_is_a_failed_fill_not_an_error(harness: Harness) -> None:
    order = harness.order("ord:greedy", "buy", harness.buy_amount, min_out=10**18)
    before = harness.chain.balances()
    prepared = await harness.venue.prepare(order, MappingProxyType(harness.wallet()))
    assert prepared == Refused(SLIPPAGE)
    fill = await harness.execute(order, harness.wallet(), 2_000)
    assert (fill.status, fill.reason) == (FAILED, SLIPPAGE)
    assert (fill.base_amount, fill.quote_amount, fill.signature) == (0, 0, "")
    assert harness.chain.balances() == before


@pytest.mark.parametrize("side,amount_in,min_out", [("hold", 1_000, 0), ("buy", 0, 0), ("sell", 1_000, -1)])
@SPOT_SWAP
async def test_a_malformed_order_is_rejected(
    harness: Harness, side: str, amount_in: int, min_out: int
) -> None:
    order = harness.order("ord:bad", side, amount_in, min_out)
    before = harness.chain.balances()
    with pytest.raises(VenueRejected):
        await harness.venue.prepare(order, MappingProxyType(harness.wallet()))
    with pytest.raises(VenueRejected):  # through its driver too: the sink books it failed (invalid_order)
        await harness.execute(order, harness.wallet(), 2_000)
    assert harness.chain.balances() == before


@on_venues(Capability.SPOT_SWAP, Capability.NETWORK)
async def test_a_transient_failure_is_a_retryable_venue_error(harness: Harness) -> None:
    harness.fail_network()
    with pytest.raises(VenueError) as failed:
        await harness.venue.prepare(harness.order("ord:busy", "buy", harness.buy_amount), harness.wallet())
    assert retryable(failed.value) and not isinstance(failed.value, VenueRejected)


@SPOT_SWAP
async def test_prepare_sends_nothing(harness: Harness) -> None:
    before = harness.chain.balances()
    prepared = await harness.venue.prepare(
        harness.order("ord:dry", "buy", harness.buy_amount), harness.wallet()
    )
    assert isinstance(prepared, PreparedTx) and prepared.in_amount <= harness.buy_amount
    assert prepared.out_amount > 0
    assert harness.chain.balances() == before


@SPOT_SWAP
async def test_fill_ids_are_deterministic_and_an_order_fills_once(harness: Harness) -> None:
    order = harness.order("ord:twice", "buy", harness.buy_amount)
    before = harness.chain.balances()
    first = await harness.execute(order, harness.wallet(), 2_000)
    after_first = harness.chain.balances()
    again = await harness.execute(order, harness.wallet(), 2_000)
    assert first.id == again.id == fill_id(order.id)
    assert (again.signature, again.base_amount, again.quote_amount) == (
        first.signature,
        first.base_amount,
        first.quote_amount,
    )
    assert harness.chain.balances() == after_first
    assert nonzero(moved(before, after_first)) == nonzero(mint_flows(order, first))


@SPOT_SWAP
async def test_the_wallet_snapshot_is_not_mutated(harness: Harness) -> None:
    wallet = harness.wallet()
    snapshot = dict(wallet)
    fill = await harness.execute(harness.order("ord:ro", "buy", harness.buy_amount), wallet, 2_000)
    assert fill.status == FILLED
    assert wallet == snapshot
    # A read-only snapshot, as the execution sink hands it over, is all a venue needs.
    fill = await harness.execute(
        harness.order("ord:ro2", "sell", harness.sell_amount), MappingProxyType(harness.wallet()), 2_000
    )
    assert fill.status == FILLED


# -- bundle relays ---------------------------------------------------------------------------------------


@on_venues(Capability.BUNDLE_RELAY)
async def test_a_relay_lands_a_signed_transaction_atomically(entry: VenueEntry) -> None:
    """What a venue sending through the relay relies on: the bundle's transaction lands as signed, once."""
    assert entry.relay is not None
    wallet = Keypair()
    chain = LocalChain({USDC: 6}, wallet)
    chain.fund_wallet({USDC: 10**9})
    rpc = SandboxRpc(chain, slot_s=0.02, window=1_000)
    engine = SandboxJito(rpc)
    runner, url = await serve([("POST", "/api/v1/bundles", engine.handle)])
    relay = entry.relay(f"{url}/api/v1/bundles")
    try:
        tip = tip_instruction(wallet.pubkey(), 10_000, "ord:relay")
        message = MessageV0.try_compile(
            wallet.pubkey(), [memo_ix("ord:relay"), tip], [], rpc.svm.latest_blockhash()
        )
        tx = VersionedTransaction(message, [wallet])
        bundle_id = await relay.send_bundle([transaction_base64(tx)])
        [status] = await relay.get_bundle_statuses([bundle_id])
        assert status is not None and status.transactions == [str(tx.signatures[0])]
        assert rpc.executed_memos == {"ord:relay": 1}
        assert await relay.send_bundle([transaction_base64(tx)]) == bundle_id  # the same bytes land once
        assert rpc.executed_memos == {"ord:relay": 1}
    finally:
        await relay.close()
        await runner.cleanup()


# -- the suite itself ------------------------------------------------------------------------------------


def entries_of(case: object) -> list[str]:
    """The venues a case is parametrised over (by `on_venues`), in registry order."""
    marks = [m for m in getattr(case, "pytestmark", []) if m.name == "parametrize" and m.args[0] == "entry"]
    assert len(marks) == 1, f"{case} is not marked with on_venues"
    return [str(name) for name in marks[0].args[1]]


def test_each_case_runs_on_exactly_the_venues_declaring_what_it_needs() -> None:
    """No case is skipped by capability: it is not collected for a venue that does not declare it."""
    swap = [str(n) for n, e in REGISTRY.items() if e.has(Capability.SPOT_SWAP)]
    assert swap == venues_with(Capability.SPOT_SWAP) and {"paper", "jupiter", "pumpfun"} <= set(swap)
    for case in (
        test_the_built_venue_is_the_entrys,
        test_a_buy_and_a_sell_fill_moving_exactly_their_mint_flows,
        test_an_order_past_its_slippage_bound_is_a_failed_fill_not_an_error,
        test_a_malformed_order_is_rejected,
        test_prepare_sends_nothing,
        test_fill_ids_are_deterministic_and_an_order_fills_once,
        test_the_wallet_snapshot_is_not_mutated,
    ):
        assert entries_of(case) == swap, case.__name__
    assert entries_of(test_a_transient_failure_is_a_retryable_venue_error) == [
        n for n in swap if REGISTRY[VenueName(n)].has(Capability.NETWORK)
    ]
    assert entries_of(test_a_relay_lands_a_signed_transaction_atomically) == [
        str(n) for n, e in REGISTRY.items() if e.has(Capability.BUNDLE_RELAY)
    ]
    with pytest.raises(AssertionError, match="no venue declares"):
        on_venues(Capability.SPOT_SWAP, Capability.PERP_ORDERS)
