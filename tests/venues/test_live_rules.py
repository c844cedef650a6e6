"""The pure rules of live trading: memo matching, the USDC caps, and fills read from a landed transaction."""

from __future__ import annotations

from chain.rpc.types import TokenBalance, TransactionRecord
from market.tokens import USDC, WSOL
from streams.records import Order, PoolState
from tests.venues.test_lifecycle_faults import STATE, order
from venues.landed import landing_from_record
from venues.live_caps import LIVE_UNPRICED, cap_refusal, notional_usdc
from venues.memo import memo_texts

OWNER = "Owner1111111111111111111111111111111111111"


def test_memo_texts_match_whole_order_ids_only() -> None:
    assert memo_texts(None) == [] and memo_texts("") == []
    assert memo_texts("[5] ord:1") == ["ord:1"]
    assert memo_texts("[5] ord:1; [6] ord:12") == ["ord:1", "ord:12"]
    assert "ord:1" not in memo_texts("[6] ord:12")


def test_notional_values_what_the_order_spends_in_usdc() -> None:
    buy, sell = order(0), order(1)  # 1 USDC of SOL; 0.01 SOL at the pool's 150 USDC
    assert notional_usdc(buy, None) == buy.amount_in / 1e6
    assert abs((notional_usdc(sell, None) or 0) - sell.amount_in / 1e9 * 150) < 1e-9
    state = PoolState(**{**STATE.asdict(), "base_mint": "Bonk", "quote_mint": WSOL, "quote_decimals": 9})
    sol_quoted = Order(**{**buy.asdict(), "pool_state": state, "amount_in": 10**9})  # spends 1 SOL
    assert notional_usdc(sol_quoted, None) is None  # no SOL/USDC price: cannot be valued
    assert notional_usdc(sol_quoted, 150.0) == 150.0


def test_caps_refuse_unvalued_oversized_and_over_the_day() -> None:
    assert cap_refusal(None, 0, 100, 1000) == LIVE_UNPRICED
    assert (cap_refusal(150, 0, 100, 1000) or "").startswith("live_cap_order")
    assert (cap_refusal(90, 950, 100, 1000) or "").startswith("live_cap_day")
    assert cap_refusal(50, 950, 100, 1000) is None


def record(
    pre: list[TokenBalance], post: list[TokenBalance], lamports: tuple[int, int], fee: int
) -> TransactionRecord:
    return TransactionRecord(
        slot=1, block_time=None, err=None, fee=fee, logs=[], pre_balances=[lamports[0]],
        post_balances=[lamports[1]], pre_token_balances=pre, post_token_balances=post,
        compute_units_consumed=None, transaction=None, parsed=None,
    )  # fmt: skip


def test_a_landing_is_what_the_wallet_s_token_balances_moved_not_the_quote() -> None:
    pre = [TokenBalance(1, USDC, OWNER, 5_000_000, 6), TokenBalance(2, WSOL, OWNER, 10, 9),
           TokenBalance(3, USDC, "Pool", 9, 6)]  # fmt: skip
    post = [TokenBalance(1, USDC, OWNER, 3_999_000, 6), TokenBalance(2, WSOL, OWNER, 6_600_010, 9),
            TokenBalance(3, USDC, "Pool", 1_000_009, 6)]  # fmt: skip
    landing = landing_from_record(record(pre, post, (10**9, 10**9 - 5000), 5000), "sig", OWNER, USDC, WSOL)
    assert (landing.signature, landing.in_amount, landing.out_amount) == ("sig", 1_001_000, 6_600_000)


def test_native_sol_is_read_from_the_fee_payer_s_lamports_with_the_fee_added_back() -> None:
    pre = [TokenBalance(1, USDC, OWNER, 5_000_000, 6)]
    post = [TokenBalance(1, USDC, OWNER, 4_000_000, 6)]
    fee = 7_000
    lamports = (10**9, 10**9 + 6_600_000 - fee)  # unwrapped SOL received, fee paid
    landing = landing_from_record(record(pre, post, lamports, fee), "sig", OWNER, USDC, WSOL)
    assert (landing.in_amount, landing.out_amount) == (1_000_000, 6_600_000)
    assert landing.fee_lamports == fee  # the rest of the lamports' move is the swap's SOL leg


def test_the_lamports_a_token_swap_cost_beyond_its_fee_are_its_cost_too() -> None:
    # A Jito bundle's swap: SOL moved as tokens, and the lamports paid the fee and a 10,000 lamport tip.
    pre = [TokenBalance(1, USDC, OWNER, 5_000_000, 6), TokenBalance(2, WSOL, OWNER, 0, 9)]
    post = [TokenBalance(1, USDC, OWNER, 4_000_000, 6), TokenBalance(2, WSOL, OWNER, 6_600_000, 9)]
    lamports = (10**9, 10**9 - 5_000 - 10_000)
    landing = landing_from_record(record(pre, post, lamports, 5_000), "sig", OWNER, USDC, WSOL)
    assert (landing.in_amount, landing.out_amount, landing.fee_lamports) == (1_000_000, 6_600_000, 15_000)
