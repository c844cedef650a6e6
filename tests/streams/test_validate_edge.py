"""Input validation at the edge: event times in epoch milliseconds and not from the future, swap prices
near their pool's, and amounts the pool's previous state allows."""

from __future__ import annotations

import pytest

from core.errors import DecodeError
from streams.records import Swap
from streams.validate import MAX_EVENT_MS, PoolContinuity, check_event_time, check_swap


def swap(**over: object) -> Swap:
    fields: dict[str, object] = dict(
        venue="raydium",
        pool="P",
        pair="SOL/USDC",
        base_mint="S",
        quote_mint="U",
        base_decimals=9,
        quote_decimals=6,
        side="buy",
        base_amount=10**9,
        quote_amount=150 * 10**6,
        base_reserve=10**12,
        quote_reserve=150 * 10**9,
        fee_bps=25,
        slot=1,
        ts_ms=1_700_000_000_000,
        received_ms=1_700_000_000_001,
        signature="sig",
    )
    fields.update(over)
    return Swap(**fields)


def reason(s: Swap, **kw: int) -> str:
    with pytest.raises(DecodeError) as err:
        check_swap(s, **kw)
    return str(err.value)


def test_event_times_are_epoch_milliseconds() -> None:
    assert "not epoch milliseconds" in reason(
        swap(ts_ms=1_700_000_000_000_000, received_ms=0)
    )  # microseconds
    assert "not epoch milliseconds" in reason(swap(ts_ms=1_700_000_000, received_ms=0))  # seconds
    check_event_time(MAX_EVENT_MS)  # the bound itself is fine
    with pytest.raises(DecodeError):
        check_event_time(MAX_EVENT_MS + 1)


def test_an_event_from_the_future_is_refused() -> None:
    ahead = swap(ts_ms=1_700_000_000_000 + 86_400_000)
    assert reason(ahead) == "ts_ms: 86400.0s after its receipt (more than 5s skew)"
    check_swap(swap(ts_ms=1_700_000_004_000))  # within the 5 s skew of its receipt
    # No receipt in the swap: the record's broker time stands in for it.
    no_receipt = swap(ts_ms=1_700_000_010_000, received_ms=0)
    assert "after its receipt" in reason(no_receipt, received_ms=1_700_000_000_000)
    check_swap(no_receipt, received_ms=1_700_000_000_000, skew_ms=10_000)
    check_swap(no_receipt)  # nothing to compare with: the range check only


def test_a_swap_priced_far_off_its_pool_is_refused() -> None:
    assert "1e+03x its pool's" in reason(swap(quote_amount=150 * 10**9))
    check_swap(swap(quote_amount=150 * 10**7 * 5))  # 50x off: odd, but within the bound


def test_amounts_the_previous_state_rules_out_are_refused() -> None:
    guard = PoolContinuity()
    guard.check(swap())
    with pytest.raises(DecodeError, match="base_amount: 2000000000000 out of a pool that held 1000000000000"):
        guard.check(swap(base_amount=2 * 10**12, quote_amount=300 * 10**9))
    with pytest.raises(DecodeError, match="quote_amount"):
        guard.check(swap(side="sell", base_amount=10**15, quote_amount=150 * 10**9 * 2, base_reserve=10**15))
    guard.check(swap(base_reserve=10**11, quote_reserve=15 * 10**9))  # a 90 % drain is a market, not an error
    guard.check(swap(pool="Q", base_amount=5 * 10**11, quote_amount=75 * 10**9))  # a new pool: nothing known


def test_the_pool_memory_is_bounded() -> None:
    guard = PoolContinuity(keep=2)
    for name in ("A", "B", "C"):
        guard.check(swap(pool=name))
    # A was forgotten: its next swap is not judged against the old state
    guard.check(swap(pool="A", base_amount=2 * 10**12, quote_amount=300 * 10**9))
    with pytest.raises(DecodeError):
        guard.check(swap(pool="C", base_amount=2 * 10**12, quote_amount=300 * 10**9))
