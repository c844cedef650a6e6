"""The local chain: real SPL mints and accounts, fills settled as two-signer transactions, exactly once."""

from __future__ import annotations

import time

import pytest
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction_metadata import TransactionMetadata
from spl.token.constants import TOKEN_PROGRAM_ID

from chain.local import ChainError, LocalChain, SettlementConflict, SettlementFailed, token_amount
from core.errors import VenueError, VenueRejected
from market.balances import compare_balances
from market.fills import mint_flows
from market.tokens import BONK, DECIMALS, JUP, USDC, WSOL
from solbot.commands.check import chain_balances
from streams.records import Fill, Order, PoolState
from venues.paper.execution import PaperVenue

PUMP_TOKEN = "PumpTok3n1111111111111111111111111111111pump"


def sol_usdc(pool: str = "pool-sol-usdc", **overrides: int) -> PoolState:
    fields: dict = dict(
        venue="raydium",
        pool=pool,
        base_mint=WSOL,
        quote_mint=USDC,
        base_decimals=9,
        quote_decimals=6,
        base_reserve=50_000 * 10**9,  # 50k SOL
        quote_reserve=7_500_000 * 10**6,  # 7.5M USDC
        fee_bps=25,
    )
    fields.update(overrides)
    return PoolState(**fields)


def pump_curve() -> PoolState:
    return PoolState(
        venue="pumpfun",
        pool="curve-pump-1",
        base_mint=PUMP_TOKEN,
        quote_mint=WSOL,
        base_decimals=6,
        quote_decimals=9,
        base_reserve=1_073_000_000_000_000,
        quote_reserve=30_000_000_000,
        real_base_reserve=793_100_000_000_000,
        fee_bps=100,
    )


def make_order(state: PoolState, side: str, amount_in: int, oid: str, min_out: int = 0) -> Order:
    return Order(
        id=oid,
        signal_id=f"sig:{oid}",
        pair="X/Y",
        side=side,
        amount_in=amount_in,
        min_amount_out=min_out,
        venue=state.venue,
        pool=state.pool,
        pool_state=state,
        kind="entry",
        reason="test",
        ts_ms=1_000,
        origin_ms=900,
        decided_ms=950,
    )


START = {WSOL: 100 * 10**9, USDC: 20_000 * 10**6}


@pytest.fixture
def chain() -> LocalChain:
    chain = LocalChain()
    chain.fund_wallet(START)
    return chain


def filled(order: Order, wallet: dict[str, int] | None = None) -> Fill:
    fill = PaperVenue().fill(order, wallet if wallet is not None else START, now_ms=2_000)
    assert fill.status == "filled", fill.reason
    return fill


def test_mints_and_accounts_are_real_and_rent_exempt(chain: LocalChain) -> None:
    svm = chain.svm
    assert set(chain.mints()) == set(DECIMALS)
    for mint, address in chain.mints().items():
        account = svm.get_account(address)
        assert account is not None and account.owner == TOKEN_PROGRAM_ID
        data = bytes(account.data)
        assert data[44] == DECIMALS[mint]  # SPL mint layout: decimals at byte 44
        assert data[45] == 1  # initialised
        assert account.lamports >= svm.minimum_balance_for_rent_exemption(len(data))
        token_account = svm.get_account(chain.wallet_account(mint))
        assert token_account is not None and token_account.owner == TOKEN_PROGRAM_ID
        token_data = bytes(token_account.data)
        assert Pubkey.from_bytes(token_data[:32]) == address
        assert Pubkey.from_bytes(token_data[32:64]) == chain.wallet
        assert token_account.lamports >= svm.minimum_balance_for_rent_exemption(len(token_data))
    assert chain.balances() == {WSOL: START[WSOL], USDC: START[USDC], JUP: 0, BONK: 0}


def test_pool_vaults_owned_by_pool_authority_and_funded_to_reserves(chain: LocalChain) -> None:
    state = sol_usdc()
    chain.ensure_pool(state)
    chain.ensure_pool(state)  # idempotent
    assert chain.vault_balances(state.pool) == {WSOL: state.base_reserve, USDC: state.quote_reserve}
    for mint in (WSOL, USDC):
        account = chain.svm.get_account(chain.vault(state.pool, mint))
        assert account is not None
        assert Pubkey.from_bytes(bytes(account.data)[32:64]) == chain.pool_authority
        assert account.lamports >= chain.svm.minimum_balance_for_rent_exemption(len(bytes(account.data)))


def test_buy_and_sell_settle_as_two_signer_transactions(chain: LocalChain) -> None:
    state = sol_usdc()
    expected = dict(chain.balances())
    for oid, side, amount in (("ord:buy", "buy", 1_500 * 10**6), ("ord:sell", "sell", 3 * 10**9)):
        order = make_order(state, side, amount, oid)
        fill = filled(order)
        signature = chain.settle(order, fill)
        meta = chain.svm.get_transaction(Signature.from_string(signature))
        assert isinstance(meta, TransactionMetadata)
        assert meta.fee() == 2 * 5_000  # two signatures: the wallet's and the pool authority's
        logs = "\n".join(meta.logs())
        assert logs.count(f"Program {TOKEN_PROGRAM_ID} invoke") == 2  # the two transfers
        assert oid in logs  # the memo names the order
        for mint, delta in mint_flows(order, fill).items():
            expected[mint] += delta
        assert chain.balances() == expected
        assert chain.signature_of(oid) == signature
    assert chain.balances()[WSOL] != START[WSOL]


def test_same_order_settles_once(chain: LocalChain) -> None:
    order = make_order(sol_usdc(), "buy", 100 * 10**6, "ord:once")
    fill = filled(order)
    first = chain.settle(order, fill)
    sent, after_first = chain.transactions_sent, chain.balances()
    assert chain.settle(order, fill) == first
    assert chain.settle(order, filled(order)) == first  # an identical fill re-computed after a rollback
    assert chain.transactions_sent == sent
    assert chain.balances() == after_first
    with pytest.raises(SettlementConflict):
        chain.settle(order, fill.derive(base_amount=fill.base_amount + 1))


def test_failed_transaction_raises_venue_error_and_can_be_retried(chain: LocalChain) -> None:
    state = sol_usdc()
    big = START[USDC] + 1  # the ledger could believe in it; the chain does not hold it
    order = make_order(state, "buy", big, "ord:too-big")
    fill = filled(order, {USDC: big})
    before = chain.balances()
    with pytest.raises(SettlementFailed) as caught:
        chain.settle(order, fill)
    assert isinstance(caught.value, VenueError)
    assert "insufficient funds" in " ".join(caught.value.logs).lower()
    assert chain.balances() == before
    assert chain.signature_of(order.id) is None
    chain.fund_wallet({USDC: 1})
    assert chain.settle(order, fill)  # the failure left no trace that blocks a retry
    assert chain.balances()[USDC] == 0


def test_short_vault_is_topped_up_to_the_pool_reserve(chain: LocalChain) -> None:
    small = sol_usdc(base_reserve=10**9, quote_reserve=150 * 10**6)
    chain.ensure_pool(small)
    # The market moved on: the same pool now holds far more SOL than its vault was funded with.
    big = sol_usdc(base_reserve=50_000 * 10**9, quote_reserve=7_500_000 * 10**6)
    order = make_order(big, "buy", 10_000 * 10**6, "ord:big")
    fill = filled(order)
    assert fill.base_amount > 10**9
    chain.settle(order, fill)
    assert chain.top_ups == 1
    assert chain.vault_balances(big.pool)[WSOL] == big.base_reserve - fill.base_amount


def test_pump_token_created_on_first_sight(chain: LocalChain) -> None:
    state = pump_curve()
    order = make_order(state, "buy", 10**9, "ord:pump")
    fill = filled(order)
    chain.settle(order, fill)
    assert chain.mint_address(PUMP_TOKEN) is not None
    assert chain.balances()[PUMP_TOKEN] == fill.base_amount
    assert chain.vault_balances(state.pool)[PUMP_TOKEN] == state.real_base_reserve - fill.base_amount


def test_conflicting_decimals_are_rejected(chain: LocalChain) -> None:
    with pytest.raises(ChainError):
        chain.add_token(USDC, 9)
    order = make_order(sol_usdc(quote_decimals=9), "buy", 10**6, "ord:dec")
    with pytest.raises(VenueRejected):
        chain.settle(order, filled(order))
    with pytest.raises(ChainError):
        chain.fund_wallet({"UnknownMint111": 5})


def test_repr_shows_no_secret(chain: LocalChain) -> None:
    text = repr(chain)
    assert str(chain.wallet) in text
    for keypair in (chain._wallet, chain._pool_authority, chain._operator):
        assert str(keypair) not in text


def test_two_hundred_fills_stay_equal_to_the_ledger(chain: LocalChain) -> None:
    """A paper ledger booked only through mint_flows equals the chain after every fill; measures tx/s."""
    venue = PaperVenue(chain)
    pools = [
        sol_usdc("pool-a"),
        sol_usdc("pool-b", base_reserve=20_000 * 10**9, quote_reserve=3_000_000 * 10**6),
    ]
    pump = pump_curve()
    ledger = dict(chain.balances())
    for state in (*pools, pump):  # set up outside the timed loop
        chain.ensure_pool(state)
    sent_before, failed = chain.transactions_sent, 0
    started = time.perf_counter()
    for i in range(200):
        if i % 10 == 9:
            state, side = pump, ("buy" if i % 20 == 9 else "sell")
            amount = 2 * 10**8 if side == "buy" else max(1, ledger.get(PUMP_TOKEN, 0) // 2)
        else:
            state, side = pools[i % 2], ("buy" if i % 3 else "sell")
            amount = 50 * 10**6 + i * 1_000 if side == "buy" else 2 * 10**8 + i
        min_out = 10**30 if i % 50 == 7 else 0  # some fills fail on slippage and must send nothing
        order = make_order(state, side, amount, f"ord:loop:{i}", min_out)
        fill = venue.fill(order, ledger, now_ms=3_000 + i)
        if fill.status != "filled":
            failed += 1
            assert fill.signature == ""
        for mint, delta in mint_flows(order, fill).items():
            ledger[mint] = ledger.get(mint, 0) + delta
        assert compare_balances(ledger, chain.balances()) == [], f"after fill {i}"
    elapsed = time.perf_counter() - started
    settled = chain.transactions_sent - sent_before
    assert failed >= 4 and settled == 200 - failed
    assert compare_balances(ledger, chain_balances(chain)) == []
    print(f"\nsettled {settled} fills in {elapsed:.3f}s incl. balance checks: {settled / elapsed:.0f} tx/s")


def test_settlement_throughput(chain: LocalChain) -> None:
    """Settlement alone (fills computed beforehand), for the report; a loose floor for a loaded host."""
    state = sol_usdc()
    chain.ensure_pool(state)
    work = []
    for i in range(400):
        order = make_order(state, "buy" if i % 2 else "sell", 10**6 + i, f"ord:tps:{i}")
        work.append((order, filled(order)))
    started = time.perf_counter()
    for order, fill in work:
        chain.settle(order, fill)
    rate = len(work) / (time.perf_counter() - started)
    print(f"\nsettlement: {rate:.0f} tx/s (2 signatures, memo + 2 transfer_checked)")
    assert rate > 100
    assert token_amount(chain.svm.get_account(chain.wallet_account(USDC))) == chain.balances()[USDC]


def test_compare_balances_lines() -> None:
    assert compare_balances({USDC: 5, WSOL: 0}, {USDC: 5}) == []
    assert compare_balances({USDC: 5}, {USDC: 7, JUP: 1}) == sorted(
        [f"{JUP}: db 0 chain 1 (chain - db = +1)", f"{USDC}: db 5 chain 7 (chain - db = +2)"]
    )


def test_sync_wallet_mints_up_burns_down_and_forgets_settlements(chain: LocalChain) -> None:
    buy = make_order(sol_usdc(), "buy", 100 * 10**6, "ord-sync")
    chain.settle(buy, filled(buy))
    assert chain.signature_of("ord-sync") is not None
    chain.sync_wallet({WSOL: 5 * 10**9, USDC: 100 * 10**6}, {})
    assert chain.signature_of("ord-sync") is None
    pump = "PumpSyncMint1111111111111111111111111111111"
    changes = chain.sync_wallet({WSOL: 2 * 10**9, USDC: 300 * 10**6, pump: 7}, {pump: 6})
    assert changes == {WSOL: -3 * 10**9, USDC: 200 * 10**6, pump: 7}
    assert chain.balances()[WSOL] == 2 * 10**9
    assert chain.balances()[USDC] == 300 * 10**6
    assert chain.balances()[pump] == 7
    assert chain.sync_wallet({WSOL: 2 * 10**9, USDC: 300 * 10**6, pump: 7}, {}) == {}
    # A mint left out of the target goes to zero.
    chain.sync_wallet({WSOL: 2 * 10**9, USDC: 300 * 10**6}, {})
    assert chain.balances()[pump] == 0


def test_many_mints_sync_in_several_transactions(chain: LocalChain) -> None:
    mints = {f"SyncMint{i:02d}" + "1" * 35: 6 for i in range(20)}
    chain.sync_wallet({m: 1_000 + i for i, m in enumerate(mints)}, mints)
    held = chain.balances()
    assert all(held[m] == 1_000 + i for i, m in enumerate(mints))


def test_unknown_mint_without_decimals_is_refused(chain: LocalChain) -> None:
    with pytest.raises(ChainError):
        chain.sync_wallet({"NoDecimals111111111111111111111111111111111": 1}, {})
