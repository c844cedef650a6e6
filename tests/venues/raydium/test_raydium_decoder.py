"""Raydium AMM v4 `ray_log` swaps: real logs, the AMM maths, and the Swap they become."""

from __future__ import annotations

import base64
import struct

import pytest

from core.errors import DecodeError
from market import amm
from market.tokens import USDC, WSOL
from venues.raydium import decoders as raydium
from venues.raydium.schemas import PoolInfo, SwapBaseIn, SwapBaseOut

# Real mainnet ray_log lines, each quoted in a public repository's logs (search-index content ids):
REAL_SWAP_BASE_IN = [
    # inside a Jupiter Route (getTransaction JSON, content id 49119220113); PC->Coin
    "A2SoNgAAAAAAAAAAAAAAAAABAAAAAAAAAB7IPhAIAAAAjEpmligAAACk8vyzBgAAAFoWSgEAAAAA",
    # Coin->PC, a 572k-token sell routed by program 6rHBDck… (content id 1553933778)
    "A0cBmjWFAAAAbK8wbAAAAAACAAAAAAAAAEcBmjWFAAAA/2uOg3AUAADPqGwiEQAAAOq+oWwAAAAA",
    # inside a Jupiter Route in a Rust test (content id 42446879188)
    "A+Ev0QAAAAAAAAAAAAAAAAABAAAAAAAAAOEv0QAAAAAABcaYQYoFAACqoy+MfwEAAMuTAwMAAAAA",
    # from a comment in a public log watcher (content id 31268499559)
    "A5XjiBgAAAAAAAAAAAAAAAABAAAAAAAAAJXjiBgAAAAA0IdARbB/oAGt00cSBwAAAMBzq/Q6jgUA",
]
# Tiny inputs: the chain charged no fee (amount_in * 25 < 5000), unlike market.amm's plain ceil.
# From an OKX-router transaction (content id 8547085699) and a public keyword list (content id 29443649574).
REAL_TINY = [
    "AwEAAAAAAAAAAQAAAAAAAAACAAAAAAAAAGanN1sEAAAASQ2SCQAAAAAoAiR+DwAAAJ4BAAAAAAAA",
    "AyMAAAAAAAAAZA8AAAAAAAABAAAAAAAAACMAAAAAAAAAgTzUKJplFgDKZNAeGy8AAKQQAAAAAAAA",
]

SOL_USDC = PoolInfo(
    address="58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2",
    coin_mint=WSOL,
    pc_mint=USDC,
    coin_decimals=9,
    pc_decimals=6,
    pair="SOL/USDC",
)


def _reserves_in_out(log: SwapBaseIn) -> tuple[int, int]:
    if log.direction == raydium.PC_TO_COIN:
        return log.pool_pc, log.pool_coin
    return log.pool_coin, log.pool_pc


def test_first_real_log_fields() -> None:
    log = raydium.decode_ray_log("Program log: ray_log: " + REAL_SWAP_BASE_IN[0])
    assert log == SwapBaseIn(
        amount_in=3_582_052,
        minimum_out=0,
        direction=1,
        user_source=34_632_288_286,
        pool_coin=174_321_977_996,
        pool_pc=28_789_502_628,
        out_amount=21_632_602,
    )


@pytest.mark.parametrize("b64", REAL_SWAP_BASE_IN)
def test_real_outputs_follow_the_constant_product_with_25_bps(b64: str) -> None:
    log = raydium.decode_ray_log(b64)
    assert isinstance(log, SwapBaseIn)
    reserve_in, reserve_out = _reserves_in_out(log)
    assert amm.quote_out(log.amount_in, reserve_in, reserve_out, 25) == log.out_amount


@pytest.mark.parametrize("b64", REAL_TINY)
def test_tiny_real_swaps_paid_no_fee(b64: str) -> None:
    log = raydium.decode_ray_log(b64)
    assert isinstance(log, SwapBaseIn)
    reserve_in, reserve_out = _reserves_in_out(log)
    assert log.amount_in * 25 * 2 < 10_000
    assert amm.quote_out(log.amount_in, reserve_in, reserve_out, 0) == log.out_amount


@pytest.mark.parametrize("b64", REAL_SWAP_BASE_IN)
def test_parse_to_swap_reserves_equal_amm_swap(b64: str) -> None:
    log = raydium.decode_ray_log(b64)
    assert isinstance(log, SwapBaseIn)
    swap = log.parse_to_swap(SOL_USDC, slot=1, signature="s", ts_ms=1_000, received_ms=2_000)
    reserve_in, reserve_out = _reserves_in_out(log)
    result = amm.swap(log.amount_in, reserve_in, reserve_out, 25)
    if log.direction == raydium.PC_TO_COIN:  # paid USDC, got SOL: a buy of the base
        assert swap.side == "buy"
        assert (swap.quote_reserve, swap.base_reserve) == (result.reserve_in_after, result.reserve_out_after)
        assert (swap.quote_amount, swap.base_amount) == (log.amount_in, log.out_amount)
    else:
        assert swap.side == "sell"
        assert (swap.base_reserve, swap.quote_reserve) == (result.reserve_in_after, result.reserve_out_after)
        assert (swap.base_amount, swap.quote_amount) == (log.amount_in, log.out_amount)
    assert (swap.venue, swap.pool, swap.pair, swap.fee_bps) == ("raydium", SOL_USDC.address, "SOL/USDC", 25)
    assert (swap.base_mint, swap.quote_mint, swap.base_decimals, swap.quote_decimals) == (WSOL, USDC, 9, 6)
    assert (swap.ts_ms, swap.received_ms) == (1_000, 2_000)


def test_base_on_the_pc_side_flips_the_side() -> None:
    log = raydium.decode_ray_log(REAL_SWAP_BASE_IN[0])
    flipped = PoolInfo("p", coin_mint=WSOL, pc_mint=USDC, coin_decimals=9, pc_decimals=6, base_is_coin=False)
    swap = log.parse_to_swap(flipped, slot=1, signature="s", ts_ms=0, received_ms=0)
    assert swap.side == "sell" and swap.base_mint == USDC and swap.base_amount == log.amount_in
    assert swap.pair == "EPjFWd/So1111"


def _swap_base_out(max_in: int, out: int, direction: int, coin: int, pc: int, deduct: int) -> str:
    raw = bytes([4]) + struct.pack("<7Q", max_in, out, direction, 0, coin, pc, deduct)
    return base64.b64encode(raw).decode()


def test_swap_base_out_round_trip() -> None:
    coin, pc, out = 1_000_000_000, 150_000_000, 10_000_000
    deduct = amm.quote_in(out, pc, coin, 25)
    log = raydium.decode_ray_log(_swap_base_out(deduct + 5, out, 1, coin, pc, deduct))
    assert log == SwapBaseOut(deduct + 5, out, 1, 0, coin, pc, deduct)
    swap = log.parse_to_swap(SOL_USDC, slot=1, signature="s", ts_ms=0, received_ms=0)
    assert (swap.side, swap.base_amount, swap.quote_amount) == ("buy", out, deduct)
    assert (swap.base_reserve, swap.quote_reserve) == (coin - out, pc + deduct)


def test_refusals() -> None:
    for log_type, name in [(0, "Init"), (1, "Deposit"), (2, "Withdraw")]:
        with pytest.raises(DecodeError, match=f"type {log_type} \\({name}\\) is not a swap"):
            raydium.decode_ray_log_bytes(bytes([log_type]) + bytes(56))
    with pytest.raises(DecodeError, match="unknown log type 9"):
        raydium.decode_ray_log_bytes(bytes([9]) + bytes(56))
    with pytest.raises(DecodeError, match="expected 57"):
        raydium.decode_ray_log_bytes(bytes([3]) + bytes(40))
    with pytest.raises(DecodeError, match="direction is 7"):
        raydium.decode_ray_log_bytes(bytes([3]) + struct.pack("<7Q", 1, 1, 7, 0, 1, 1, 1))
    with pytest.raises(DecodeError, match="base64"):
        raydium.decode_ray_log("ray_log: ***")
    with pytest.raises(DecodeError, match="empty"):
        raydium.decode_ray_log("ray_log: ")
    too_big = raydium.decode_ray_log_bytes(bytes([3]) + struct.pack("<7Q", 1, 0, 1, 0, 5, 5, 6))
    with pytest.raises(DecodeError, match="exceeds"):
        too_big.parse_to_swap(SOL_USDC, slot=1, signature="s", ts_ms=0, received_ms=0)
