"""Drift v2 perp orders: `place_perp_order`, `cancel_order`, `modify_order` instruction data.

Layouts follow the current Drift IDL (npm `@drift-labs/sdk` 2.156.0 `src/idl/drift.json`;
docs/protocols/README.md §4): Anchor/Borsh, enums are one byte, `Option<T>` is a 0/1 byte then T,
integers little-endian. The program replaced the old `immediate_or_cancel: bool` in place by
`bit_flags: u8` (ImmediateOrCancel = 1, UpdateHighLeverageMode = 2), in `OrderParams` and, as
`Option<u8>`, in `ModifyOrderParams`; there is no separate IOC byte any more. Positions read back are
payloads, in `venues.drift.schemas`.

Prices are PRICE_PRECISION (1e6) integers, base amounts BASE_PRECISION (1e9), quote 1e6: no floats.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from core.errors import VenueRejected
from venues.drift import schemas

PROGRAM_ID = Pubkey.from_string(schemas.PROGRAM_ID)


def anchor_discriminator(name: str) -> bytes:
    """sha256("global:<name>")[:8], as Anchor derives instruction discriminators."""
    return hashlib.sha256(f"global:{name}".encode()).digest()[:8]


PLACE_PERP_ORDER = anchor_discriminator("place_perp_order")  # 45a15dca787e4cb9 (PROTOCOLS.md §5)
CANCEL_ORDER = anchor_discriminator("cancel_order")
MODIFY_ORDER = anchor_discriminator("modify_order")


class OrderType(enum.IntEnum):
    MARKET = 0
    LIMIT = 1
    TRIGGER_MARKET = 2
    TRIGGER_LIMIT = 3
    ORACLE = 4


class MarketType(enum.IntEnum):
    SPOT = 0
    PERP = 1


class Direction(enum.IntEnum):
    LONG = 0
    SHORT = 1


class PostOnly(enum.IntEnum):
    NONE = 0
    MUST_POST_ONLY = 1
    TRY_POST_ONLY = 2
    SLIDE = 3


class OrderBitFlag(enum.IntFlag):
    """`OrderParamsBitFlag`: the bits of `OrderParams.bit_flags`."""

    IMMEDIATE_OR_CANCEL = 1
    UPDATE_HIGH_LEVERAGE_MODE = 2


class ModifyOrderPolicy(enum.IntFlag):
    """`ModifyOrderParams.policy` bits (the program reads them as flags, not as an enum)."""

    MUST_MODIFY = 1
    EXCLUDE_PREVIOUS_FILL = 2


class TriggerCondition(enum.IntEnum):
    ABOVE = 0
    BELOW = 1
    TRIGGERED_ABOVE = 2
    TRIGGERED_BELOW = 3


def _uint(value: int, size: int, name: str) -> bytes:
    if not 0 <= value < 2 ** (8 * size):
        raise VenueRejected(f"{name} must fit u{8 * size}, not {value}")
    return value.to_bytes(size, "little")


def _sint(value: int, size: int, name: str) -> bytes:
    if not -(2 ** (8 * size - 1)) <= value < 2 ** (8 * size - 1):
        raise VenueRejected(f"{name} must fit i{8 * size}, not {value}")
    return value.to_bytes(size, "little", signed=True)


def _opt(value: int | None, encode: bytes | None) -> bytes:
    return b"\x00" if value is None or encode is None else b"\x01" + encode


def _opt_u(value: int | None, size: int, name: str) -> bytes:
    return _opt(value, None if value is None else _uint(value, size, name))


def _opt_i(value: int | None, size: int, name: str) -> bytes:
    return _opt(value, None if value is None else _sint(value, size, name))


@dataclass(frozen=True, slots=True)
class OrderParams:
    """Drift's `OrderParams`, field for field, in the IDL's order (32 bytes with every option None)."""

    direction: Direction
    base_asset_amount: int  # BASE_PRECISION
    market_index: int
    order_type: OrderType = OrderType.MARKET
    market_type: MarketType = MarketType.PERP
    user_order_id: int = 0
    price: int = 0  # PRICE_PRECISION; 0 for a market order
    reduce_only: bool = False
    post_only: PostOnly = PostOnly.NONE
    bit_flags: int = 0  # OrderBitFlag: IOC is bit 0
    max_ts: int | None = None
    trigger_price: int | None = None
    trigger_condition: TriggerCondition = TriggerCondition.ABOVE
    oracle_price_offset: int | None = None  # i32, PRICE_PRECISION
    auction_duration: int | None = None  # slots, u8
    auction_start_price: int | None = None
    auction_end_price: int | None = None

    def encode(self) -> bytes:
        out = bytes([self.order_type, self.market_type, self.direction])
        out += _uint(self.user_order_id, 1, "user_order_id")
        out += _uint(self.base_asset_amount, 8, "base_asset_amount")
        out += _uint(self.price, 8, "price")
        out += _uint(self.market_index, 2, "market_index")
        out += bytes([self.reduce_only, self.post_only])
        out += _uint(int(self.bit_flags), 1, "bit_flags")
        out += _opt_i(self.max_ts, 8, "max_ts")
        out += _opt_u(self.trigger_price, 8, "trigger_price")
        out += bytes([self.trigger_condition])
        out += _opt_i(self.oracle_price_offset, 4, "oracle_price_offset")
        out += _opt_u(self.auction_duration, 1, "auction_duration")
        out += _opt_i(self.auction_start_price, 8, "auction_start_price")
        out += _opt_i(self.auction_end_price, 8, "auction_end_price")
        return out


@dataclass(frozen=True, slots=True)
class ModifyOrderParams:
    """protocol-v2 `ModifyOrderParams`: every field optional (None = leave as is)."""

    direction: Direction | None = None
    base_asset_amount: int | None = None
    price: int | None = None
    reduce_only: bool | None = None
    post_only: PostOnly | None = None
    bit_flags: int | None = None  # OrderBitFlag
    max_ts: int | None = None
    trigger_price: int | None = None
    trigger_condition: TriggerCondition | None = None
    oracle_price_offset: int | None = None
    auction_duration: int | None = None
    auction_start_price: int | None = None
    auction_end_price: int | None = None
    policy: int | None = None  # ModifyOrderPolicy bits: MustModify 1, ExcludePreviousFill 2

    def encode(self) -> bytes:
        def opt_byte(value: int | None) -> bytes:
            return b"\x00" if value is None else b"\x01" + _uint(int(value), 1, "enum/bool")

        return b"".join(
            [
                opt_byte(self.direction),
                _opt_u(self.base_asset_amount, 8, "base_asset_amount"),
                _opt_u(self.price, 8, "price"),
                opt_byte(self.reduce_only),
                opt_byte(self.post_only),
                opt_byte(self.bit_flags),
                _opt_i(self.max_ts, 8, "max_ts"),
                _opt_u(self.trigger_price, 8, "trigger_price"),
                opt_byte(self.trigger_condition),
                _opt_i(self.oracle_price_offset, 4, "oracle_price_offset"),
                _opt_u(self.auction_duration, 1, "auction_duration"),
                _opt_i(self.auction_start_price, 8, "auction_start_price"),
                _opt_i(self.auction_end_price, 8, "auction_end_price"),
                opt_byte(self.policy),
            ]
        )


def state_pda() -> Pubkey:
    return Pubkey.find_program_address([b"drift_state"], PROGRAM_ID)[0]


def user_pda(authority: Pubkey, sub_account_id: int = 0) -> Pubkey:
    return Pubkey.find_program_address(
        [b"user", bytes(authority), _uint(sub_account_id, 2, "sub_account_id")], PROGRAM_ID
    )[0]


def _accounts(authority: Pubkey, sub_account_id: int, remaining: list[AccountMeta]) -> list[AccountMeta]:
    """state, user (w), authority (signer), then the oracles and markets the order touches."""
    return [
        AccountMeta(state_pda(), is_signer=False, is_writable=False),
        AccountMeta(user_pda(authority, sub_account_id), is_signer=False, is_writable=True),
        AccountMeta(authority, is_signer=True, is_writable=False),
        *remaining,
    ]


def place_perp_order_ix(
    authority: Pubkey,
    params: OrderParams,
    *,
    sub_account_id: int = 0,
    remaining: list[AccountMeta] | None = None,
) -> Instruction:
    if params.market_type != MarketType.PERP:
        raise VenueRejected("place_perp_order takes perp orders only")
    return Instruction(
        PROGRAM_ID, PLACE_PERP_ORDER + params.encode(), _accounts(authority, sub_account_id, remaining or [])
    )


def cancel_order_ix(
    authority: Pubkey,
    order_id: int | None,
    *,
    sub_account_id: int = 0,
    remaining: list[AccountMeta] | None = None,
) -> Instruction:
    """`cancel_order(order_id: Option<u32>)`; None cancels the user's most recent order."""
    data = CANCEL_ORDER + _opt_u(order_id, 4, "order_id")
    return Instruction(PROGRAM_ID, data, _accounts(authority, sub_account_id, remaining or []))


def modify_order_ix(
    authority: Pubkey,
    order_id: int | None,
    params: ModifyOrderParams,
    *,
    sub_account_id: int = 0,
    remaining: list[AccountMeta] | None = None,
) -> Instruction:
    """`modify_order(order_id: Option<u32>, params: ModifyOrderParams)`."""
    data = MODIFY_ORDER + _opt_u(order_id, 4, "order_id") + params.encode()
    return Instruction(PROGRAM_ID, data, _accounts(authority, sub_account_id, remaining or []))
