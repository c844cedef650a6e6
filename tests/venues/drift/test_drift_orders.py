"""Drift perp order encodings (OrderParams Borsh, docs/protocols/README.md §4) and positions read back."""

from __future__ import annotations

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from core.errors import DecodeError, VenueRejected
from venues.drift.execution import (
    PLACE_PERP_ORDER,
    PROGRAM_ID,
    Direction,
    MarketType,
    ModifyOrderParams,
    ModifyOrderPolicy,
    OrderBitFlag,
    OrderParams,
    OrderType,
    PostOnly,
    anchor_discriminator,
    cancel_order_ix,
    modify_order_ix,
    place_perp_order_ix,
    state_pda,
    user_pda,
)
from venues.drift.schemas import (
    BASE_PRECISION,
    PRICE_PRECISION,
    USER_DISCRIMINATOR,
    parse_api_positions,
    parse_perp_positions,
)

AUTHORITY = Keypair().pubkey()


def test_place_perp_order_discriminator_is_the_documented_one() -> None:
    assert PLACE_PERP_ORDER.hex() == "45a15dca787e4cb9"


def test_limit_order_params_bytes_by_hand() -> None:
    params = OrderParams(
        direction=Direction.SHORT,
        base_asset_amount=2 * BASE_PRECISION,
        market_index=0,
        order_type=OrderType.LIMIT,
        user_order_id=7,
        price=150 * PRICE_PRECISION,
        reduce_only=True,
        post_only=PostOnly.MUST_POST_ONLY,
        max_ts=1_700_000_000,
        auction_duration=10,
    )
    expected = (
        bytes([1, 1, 1, 7])  # Limit, Perp, Short, user_order_id
        + (2_000_000_000).to_bytes(8, "little")
        + (150_000_000).to_bytes(8, "little")
        + (0).to_bytes(2, "little")
        + bytes([1, 1, 0])  # reduce_only, MustPostOnly, bit_flags
        + b"\x01" + (1_700_000_000).to_bytes(8, "little")  # max_ts Some
        + b"\x00"  # trigger_price None
        + b"\x00"  # trigger_condition Above
        + b"\x00"  # oracle_price_offset None
        + b"\x01\x0a"  # auction_duration Some(10)
        + b"\x00\x00"  # auction start/end None
    )  # fmt: skip
    assert params.encode() == expected
    ix = place_perp_order_ix(AUTHORITY, params)
    assert ix.program_id == PROGRAM_ID and bytes(ix.data) == PLACE_PERP_ORDER + expected
    assert [(m.pubkey, m.is_signer, m.is_writable) for m in ix.accounts] == [
        (state_pda(), False, False),
        (user_pda(AUTHORITY, 0), False, True),
        (AUTHORITY, True, False),
    ]


def test_market_order_with_negative_oracle_offset_and_bit_flags() -> None:
    params = OrderParams(
        direction=Direction.LONG,
        base_asset_amount=1,
        market_index=1,
        oracle_price_offset=-5,
        bit_flags=OrderBitFlag.IMMEDIATE_OR_CANCEL,
    )
    data = params.encode()
    assert data[:4] == bytes([0, 1, 0, 0])
    assert data[22:25] == bytes([0, 0, 1])  # reduce_only, post_only, bit_flags (IOC = bit 0)
    assert data[25] == 0  # max_ts None: no separate immediate_or_cancel byte before it
    assert data[-(5 + 1 + 1 + 1) :] == b"\x01" + (-5).to_bytes(4, "little", signed=True) + b"\x00\x00\x00"
    # Setting a flag changes one byte, never the layout.
    assert len(data) == len(OrderParams(Direction.LONG, 1, 1, oracle_price_offset=-5).encode())


def test_out_of_range_values_are_refused() -> None:
    with pytest.raises(VenueRejected):
        OrderParams(Direction.LONG, 2**64, 0).encode()
    with pytest.raises(VenueRejected):
        OrderParams(Direction.LONG, 1, 0, oracle_price_offset=2**31).encode()
    with pytest.raises(VenueRejected):
        place_perp_order_ix(AUTHORITY, OrderParams(Direction.LONG, 1, 0, market_type=MarketType.SPOT))


def test_cancel_and_modify_encodings() -> None:
    cancel = cancel_order_ix(AUTHORITY, 42)
    assert bytes(cancel.data) == anchor_discriminator("cancel_order") + b"\x01" + (42).to_bytes(4, "little")
    assert bytes(cancel_order_ix(AUTHORITY, None).data)[8:] == b"\x00"
    modify = modify_order_ix(
        AUTHORITY, 42, ModifyOrderParams(price=151 * PRICE_PRECISION, policy=ModifyOrderPolicy.MUST_MODIFY)
    )
    body = bytes(modify.data)[8:]
    assert body[:5] == b"\x01" + (42).to_bytes(4, "little")
    assert body[5:] == (
        b"\x00\x00"  # direction, base_asset_amount
        + b"\x01" + (151_000_000).to_bytes(8, "little")
        + b"\x00" * 10  # reduce_only .. auction_end_price
        + b"\x01\x01"  # policy Some(MustModify)
    )  # fmt: skip


def test_user_pda_seeds() -> None:
    expected = Pubkey.find_program_address(
        [b"user", bytes(AUTHORITY), (3).to_bytes(2, "little")], PROGRAM_ID
    )[0]
    assert user_pda(AUTHORITY, 3) == expected


def _perp_position(market: int, base: int, quote: int, entry: int, open_orders: int = 0) -> bytes:
    fields = [0, base, quote, 0, entry, 0, 0, 0, 0, 0, 0]
    raw = b"".join(v.to_bytes(8, "little", signed=True) for v in fields)
    return raw + (0).to_bytes(4, "little") + market.to_bytes(2, "little") + bytes([open_orders, 0])


def test_positions_read_back_from_a_user_account() -> None:
    head = USER_DISCRIMINATOR + bytes(AUTHORITY) + bytes(32) + bytes(32) + bytes(8 * 40)
    positions = [
        _perp_position(0, -3 * BASE_PRECISION, 450 * PRICE_PRECISION, 450 * PRICE_PRECISION),
        _perp_position(1, 0, 0, 0, open_orders=1),
    ] + [bytes(96)] * 6
    parsed = parse_perp_positions(head + b"".join(positions) + bytes(500))
    assert [(p.market_index, p.base_asset_amount, p.open_orders) for p in parsed] == [
        (0, -3 * BASE_PRECISION, 0),
        (1, 0, 1),
    ]
    assert parsed[0].entry_price() == 150 * PRICE_PRECISION
    with pytest.raises(DecodeError):
        parse_perp_positions(bytes(2000))


def test_positions_from_the_api_shape() -> None:
    body = {
        "positions": [
            {"marketIndex": 0, "baseAssetAmount": "1000000000", "quoteEntryAmount": "-150000000"},
            {"marketIndex": 2, "baseAssetAmount": "0"},
        ]
    }
    parsed = parse_api_positions(body)
    assert len(parsed) == 1 and parsed[0].entry_price() == 150 * PRICE_PRECISION
    with pytest.raises(DecodeError):
        parse_api_positions({"positions": [{"baseAssetAmount": "1"}]})
