"""Drift v2 perp orders: `place_perp_order`, `cancel_order`, `modify_order` instruction data, and positions.

Layouts follow PROTOCOLS.md §5 (Anchor/Borsh: enums are one byte, `Option<T>` is a 0/1 byte then T,
integers little-endian). What PROTOCOLS.md marks to verify is a parameter here rather than a guess baked
in: `bit_flags` (newer program versions carry a `bit_flags: u8` after `post_only`) is encoded only when
`OrderParams.bit_flags` is set. `ModifyOrderParams` and the User account's position layout are not in
PROTOCOLS.md; they follow protocol-v2's `ModifyOrderParams` and `PerpPosition` as this module documents
field by field, and must be checked against the current IDL before trading live.

Prices are PRICE_PRECISION (1e6) integers, base amounts BASE_PRECISION (1e9), quote 1e6: no floats.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from core.errors import DecodeError, VenueRejected

PROGRAM_ID = Pubkey.from_string("dRiftyHA39MWEi3m9aunc5MzRF1JYuBsbn6VPcn33UH")
PRICE_PRECISION = 10**6
BASE_PRECISION = 10**9
QUOTE_PRECISION = 10**6
PERP_MARKETS = {"SOL-PERP": 0, "BTC-PERP": 1, "ETH-PERP": 2}


def anchor_discriminator(name: str) -> bytes:
    """sha256("global:<name>")[:8], as Anchor derives instruction discriminators."""
    return hashlib.sha256(f"global:{name}".encode()).digest()[:8]


PLACE_PERP_ORDER = anchor_discriminator("place_perp_order")  # 45a15dca787e4cb9 (PROTOCOLS.md §5)
CANCEL_ORDER = anchor_discriminator("cancel_order")
MODIFY_ORDER = anchor_discriminator("modify_order")
USER_DISCRIMINATOR = hashlib.sha256(b"account:User").digest()[:8]


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
    """Drift's `OrderParams`, field for field, in PROTOCOLS.md §5's order."""

    direction: Direction
    base_asset_amount: int  # BASE_PRECISION
    market_index: int
    order_type: OrderType = OrderType.MARKET
    market_type: MarketType = MarketType.PERP
    user_order_id: int = 0
    price: int = 0  # PRICE_PRECISION; 0 for a market order
    reduce_only: bool = False
    post_only: PostOnly = PostOnly.NONE
    immediate_or_cancel: bool = False
    max_ts: int | None = None
    trigger_price: int | None = None
    trigger_condition: TriggerCondition = TriggerCondition.ABOVE
    oracle_price_offset: int | None = None  # i32, PRICE_PRECISION
    auction_duration: int | None = None  # slots, u8
    auction_start_price: int | None = None
    auction_end_price: int | None = None
    bit_flags: int | None = None  # newer program versions only (see the module docstring)

    def encode(self) -> bytes:
        out = bytes([self.order_type, self.market_type, self.direction])
        out += _uint(self.user_order_id, 1, "user_order_id")
        out += _uint(self.base_asset_amount, 8, "base_asset_amount")
        out += _uint(self.price, 8, "price")
        out += _uint(self.market_index, 2, "market_index")
        out += bytes([self.reduce_only, self.post_only])
        if self.bit_flags is not None:
            out += _uint(self.bit_flags, 1, "bit_flags")
        out += bytes([self.immediate_or_cancel])
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
    immediate_or_cancel: bool | None = None
    max_ts: int | None = None
    trigger_price: int | None = None
    trigger_condition: TriggerCondition | None = None
    oracle_price_offset: int | None = None
    auction_duration: int | None = None
    auction_start_price: int | None = None
    auction_end_price: int | None = None
    policy: int | None = None  # ModifyOrderPolicy: 0 TryModify, 1 MustModify

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
                opt_byte(self.immediate_or_cancel),
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


# -- positions read back -----------------------------------------------------------------------------------

# User account: disc 8, authority 32, delegate 32, name 32, spot_positions 8 x 40, then perp_positions 8 x 96.
_PERP_POSITIONS_OFFSET = 8 + 32 + 32 + 32 + 8 * 40
_PERP_POSITION_LEN = 96
_PERP_POSITIONS = 8


@dataclass(frozen=True, slots=True)
class PerpPosition:
    """One perp position (raw precisions): base in BASE_PRECISION (signed: short < 0), quote in 1e6."""

    market_index: int
    base_asset_amount: int
    quote_asset_amount: int
    quote_entry_amount: int
    open_bids: int
    open_asks: int
    settled_pnl: int
    open_orders: int

    @property
    def is_open(self) -> bool:
        return self.base_asset_amount != 0 or self.open_orders > 0

    def entry_price(self) -> int:
        """Average entry in PRICE_PRECISION (0 when flat): |quote_entry| * BASE / |base|."""
        if self.base_asset_amount == 0:
            return 0
        return abs(self.quote_entry_amount) * BASE_PRECISION // abs(self.base_asset_amount)


def parse_perp_positions(data: bytes) -> list[PerpPosition]:
    """The open perp positions of a Drift User account's data (PerpPosition: 11 x 8-byte fields, then
    remainder i32, market_index u16, open_orders u8, per_lp_base i8)."""
    end = _PERP_POSITIONS_OFFSET + _PERP_POSITIONS * _PERP_POSITION_LEN
    if len(data) < end or data[:8] != USER_DISCRIMINATOR:
        raise DecodeError(f"not a Drift User account ({len(data)} bytes)")
    positions = []
    for i in range(_PERP_POSITIONS):
        start = _PERP_POSITIONS_OFFSET + i * _PERP_POSITION_LEN
        raw = data[start : start + _PERP_POSITION_LEN]

        def i64(field: int, raw: bytes = raw) -> int:
            return int.from_bytes(raw[field * 8 : field * 8 + 8], "little", signed=True)

        position = PerpPosition(
            market_index=int.from_bytes(raw[92:94], "little"),
            base_asset_amount=i64(1),
            quote_asset_amount=i64(2),
            quote_entry_amount=i64(4),
            open_bids=i64(5),
            open_asks=i64(6),
            settled_pnl=i64(7),
            open_orders=raw[94],
        )
        if position.is_open:
            positions.append(position)
    return positions


def parse_api_positions(body: object) -> list[PerpPosition]:
    """Positions from a data-API style answer: `{"positions": [{marketIndex, baseAssetAmount, ...}]}` with
    integer strings in the program's precisions (the shape Drift's APIs use for on-chain integers)."""
    if not isinstance(body, dict) or not isinstance(body.get("positions"), list):
        raise DecodeError("positions answer is not {'positions': [...]}")
    out = []
    for entry in body["positions"]:
        if not isinstance(entry, dict):
            raise DecodeError("a position is not an object")
        try:
            position = PerpPosition(
                market_index=int(entry["marketIndex"]),
                base_asset_amount=int(entry["baseAssetAmount"]),
                quote_asset_amount=int(entry.get("quoteAssetAmount", 0)),
                quote_entry_amount=int(entry.get("quoteEntryAmount", 0)),
                open_bids=int(entry.get("openBids", 0)),
                open_asks=int(entry.get("openAsks", 0)),
                settled_pnl=int(entry.get("settledPnl", 0)),
                open_orders=int(entry.get("openOrders", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DecodeError(f"bad position entry: {exc}") from exc
        if position.is_open:
            out.append(position)
    return out
