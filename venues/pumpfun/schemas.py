"""Pump.fun's payloads as typed structs: the events it logs and its BondingCurve account (PROTOCOLS.md §1).

Field names are the program IDL's, in snake_case. Pump.fun keeps appending fields to its events, so
the structs read the original layout as required and every later field only when the bytes reach it:
a field the payload stops before is `None`, a field cut in half is a `DecodeError`, and bytes after
the last field known here (newer layouts) are ignored. Each struct turns into the domain record it
describes (`parse_to_swap`, `parse_to_launch`, `parse_to_pool_state`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from solders.pubkey import Pubkey

from chain.borsh import Reader
from core.errors import DecodeError
from market.bonding_curve import TOKEN_DECIMALS, Curve
from market.tokens import DECIMALS, SYMBOLS, WSOL
from market.venues import VenueName
from streams.records import Launch, PoolState, Swap

PROGRAM_ID = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"

# Anchor discriminators: sha256("event:<Name>")[:8] / sha256("account:<Name>")[:8] (checked in tests).
TRADE_EVENT_DISCRIMINATOR = bytes([189, 219, 127, 211, 78, 230, 97, 238])
CREATE_EVENT_DISCRIMINATOR = bytes([27, 114, 169, 77, 222, 235, 99, 118])
COMPLETE_EVENT_DISCRIMINATOR = bytes([95, 114, 97, 156, 212, 46, 152, 8])
BONDING_CURVE_DISCRIMINATOR = bytes([23, 183, 248, 55, 96, 216, 172, 96])
# Anchor `emit_cpi!` prefixes the event with EVENT_IX_TAG: sha256("anchor:event")[:8] read as a big-endian
# u64 and written little-endian, hence the reversed bytes (checked in tests).
EVENT_CPI_TAG = bytes.fromhex("e445a52e51cb9a1d")
_PUMP_PROGRAM = Pubkey.from_string(PROGRAM_ID)
DEFAULT_PUBKEY = "11111111111111111111111111111111"  # an unset pubkey field (the curve's quote_mint = SOL)
_WSOL_KEY = Pubkey.from_string(WSOL)


def _shareholders(read: Reader) -> Callable[[str], Any]:
    """Borsh `Vec<Shareholder { address: Pubkey, share_bps: u16 }>` (IDL 2293f9a6)."""

    def vec(name: str) -> tuple[tuple[str, int], ...]:
        return tuple((read.pubkey(name), read.u16(name)) for _ in range(read.u32(name)))

    return vec


def _reader_for(read: Reader, kind: str) -> Callable[[str], Any]:
    if kind == "vec_shareholder":
        return _shareholders(read)
    return {
        "u8": read.u8,
        "u64": read.u64,
        "i64": read.i64,
        "bool": read.bool,
        "pubkey": read.pubkey,
        "string": read.string,
    }[kind]


def _read_optional(read: Reader, fields: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """Read `fields` in order while bytes remain; stop cleanly at the end of the payload."""
    out: dict[str, Any] = {}
    for name, kind in fields:
        if read.at_end():
            break
        out[name] = _reader_for(read, kind)(name)
    return out


_TRADE_REQUIRED = (
    ("mint", "pubkey"),
    ("sol_amount", "u64"),
    ("token_amount", "u64"),
    ("is_buy", "bool"),
    ("user", "pubkey"),
    ("timestamp", "i64"),
    ("virtual_sol_reserves", "u64"),
    ("virtual_token_reserves", "u64"),
    ("real_sol_reserves", "u64"),
    ("real_token_reserves", "u64"),
)
_TRADE_LATER = (
    ("fee_recipient", "pubkey"),
    ("fee_basis_points", "u64"),
    ("fee", "u64"),
    ("creator", "pubkey"),
    ("creator_fee_basis_points", "u64"),
    ("creator_fee", "u64"),
    ("track_volume", "bool"),
    ("total_unclaimed_tokens", "u64"),
    ("total_claimed_tokens", "u64"),
    ("current_sol_volume", "u64"),
    ("last_update_timestamp", "i64"),
    ("ix_name", "string"),
    ("mayhem_mode", "bool"),
    ("cashback_fee_basis_points", "u64"),
    ("cashback", "u64"),
    ("buyback_fee_basis_points", "u64"),
    ("buyback_fee", "u64"),
    ("shareholders", "vec_shareholder"),
    ("quote_mint", "pubkey"),
    ("quote_amount", "u64"),
    ("virtual_quote_reserves", "u64"),
    ("real_quote_reserves", "u64"),
    ("holder_rewards_bps", "u64"),
    ("holder_rewards", "u64"),
    ("creator_fee_unclaimed", "u64"),
)


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """One buy or sell on a bonding curve. `sol_amount` is before fees; reserves are after the trade."""

    mint: str
    sol_amount: int
    token_amount: int
    is_buy: bool
    user: str
    timestamp: int
    virtual_sol_reserves: int
    virtual_token_reserves: int
    real_sol_reserves: int
    real_token_reserves: int
    fee_recipient: str | None = None
    fee_basis_points: int | None = None
    fee: int | None = None
    creator: str | None = None
    creator_fee_basis_points: int | None = None
    creator_fee: int | None = None
    track_volume: bool | None = None
    total_unclaimed_tokens: int | None = None
    total_claimed_tokens: int | None = None
    current_sol_volume: int | None = None
    last_update_timestamp: int | None = None
    ix_name: str | None = None
    mayhem_mode: bool | None = None
    cashback_fee_basis_points: int | None = None
    cashback: int | None = None
    buyback_fee_basis_points: int | None = None
    buyback_fee: int | None = None
    shareholders: tuple[tuple[str, int], ...] | None = None
    quote_mint: str | None = None  # the default key for SOL-paired coins; amounts are in this mint's units
    quote_amount: int | None = None
    virtual_quote_reserves: int | None = None
    real_quote_reserves: int | None = None
    holder_rewards_bps: int | None = None
    holder_rewards: int | None = None
    creator_fee_unclaimed: int | None = None

    @classmethod
    def decode(cls, payload: bytes) -> TradeEvent:
        """Decode the Borsh payload that follows the discriminator."""
        read = Reader(payload, "TradeEvent")
        values = {name: _reader_for(read, kind)(name) for name, kind in _TRADE_REQUIRED}
        values.update(_read_optional(read, _TRADE_LATER))
        return cls(**values)

    @property
    def fee_bps(self) -> int:
        """Protocol + creator fee, as charged on this trade; 0 when the layout predates fee fields."""
        return (self.fee_basis_points or 0) + (self.creator_fee_basis_points or 0)

    def curve_after(self) -> Curve:
        """The curve as this trade left it (what `market.bonding_curve` prices against)."""
        return Curve(
            virtual_token_reserves=self.virtual_token_reserves,
            virtual_sol_reserves=self.virtual_sol_reserves,
            real_token_reserves=self.real_token_reserves,
            real_sol_reserves=self.real_sol_reserves,
            complete=self.real_token_reserves <= 0,
        )

    def parse_to_swap(
        self,
        *,
        bonding_curve: str | None,
        slot: int,
        signature: str,
        received_ms: int,
        symbol: str | None = None,
    ) -> Swap:
        """The normalised swap. The event does not name its curve, so without `bonding_curve` the PDA
        `["bonding-curve", mint]` is derived (exact for every Pump.fun coin). The quote is the event's
        `quote_mint` (SOL when unset or before the field existed); a quote of unknown decimals is refused."""
        pool = bonding_curve or bonding_curve_address(self.mint)
        quote = self.quote_mint if self.quote_mint not in (None, DEFAULT_PUBKEY) else WSOL
        assert quote is not None
        if quote not in DECIMALS:
            raise DecodeError(f"TradeEvent: quote mint {quote} has unknown decimals")
        return Swap(
            venue=VenueName.PUMPFUN.value,
            pool=pool,
            pair=f"{symbol or self.mint[:6]}/{SYMBOLS.get(quote, quote[:6])}",
            base_mint=self.mint,
            quote_mint=quote,
            base_decimals=TOKEN_DECIMALS,
            quote_decimals=DECIMALS[quote],
            side="buy" if self.is_buy else "sell",
            base_amount=self.token_amount,
            quote_amount=self.sol_amount,
            base_reserve=self.virtual_token_reserves,
            quote_reserve=self.virtual_sol_reserves,
            fee_bps=self.fee_bps,
            creator_fee_bps=self.creator_fee_basis_points or 0,
            slot=slot,
            ts_ms=self.timestamp * 1000,
            received_ms=received_ms,
            signature=signature,
            real_base_reserve=self.real_token_reserves,
        )


_CREATE_REQUIRED = (
    ("name", "string"),
    ("symbol", "string"),
    ("uri", "string"),
    ("mint", "pubkey"),
    ("bonding_curve", "pubkey"),
    ("user", "pubkey"),
)
_CREATE_LATER = (
    ("creator", "pubkey"),
    ("timestamp", "i64"),
    ("virtual_token_reserves", "u64"),
    ("virtual_sol_reserves", "u64"),
    ("real_token_reserves", "u64"),
    ("token_total_supply", "u64"),
    ("token_program", "pubkey"),
    ("is_mayhem_mode", "bool"),
    ("is_cashback_enabled", "bool"),
    ("quote_mint", "pubkey"),
    ("virtual_quote_reserves", "u64"),
    ("creator_fee_bps", "u64"),
    ("is_holder_reward", "bool"),
    ("depth", "u8"),
)


@dataclass(frozen=True, slots=True)
class CreateEvent:
    """A new coin on Pump.fun. The early layout stops after `user`; reserves arrived later."""

    name: str
    symbol: str
    uri: str
    mint: str
    bonding_curve: str
    user: str
    creator: str | None = None
    timestamp: int | None = None
    virtual_token_reserves: int | None = None
    virtual_sol_reserves: int | None = None
    real_token_reserves: int | None = None
    token_total_supply: int | None = None
    token_program: str | None = None
    is_mayhem_mode: bool | None = None
    is_cashback_enabled: bool | None = None
    quote_mint: str | None = None
    virtual_quote_reserves: int | None = None
    creator_fee_bps: int | None = None
    is_holder_reward: bool | None = None
    depth: int | None = None

    @classmethod
    def decode(cls, payload: bytes) -> CreateEvent:
        read = Reader(payload, "CreateEvent")
        values = {name: _reader_for(read, kind)(name) for name, kind in _CREATE_REQUIRED}
        values.update(_read_optional(read, _CREATE_LATER))
        return cls(**values)

    def parse_to_launch(self, *, slot: int, signature: str, received_ms: int) -> Launch:
        """The normalised launch. Refuses the early layout: it carries no reserves or timestamp, and
        guessing them from today's Global defaults would invent data."""
        if (
            self.timestamp is None
            or self.virtual_token_reserves is None
            or self.virtual_sol_reserves is None
            or self.real_token_reserves is None
            or self.token_total_supply is None
        ):
            raise DecodeError(
                "CreateEvent: early layout without timestamp and reserves; cannot build a Launch"
            )
        return Launch(
            mint=self.mint,
            bonding_curve=self.bonding_curve,
            name=self.name,
            symbol=self.symbol,
            creator=self.creator or self.user,
            virtual_base_reserve=self.virtual_token_reserves,
            virtual_quote_reserve=self.virtual_sol_reserves,
            real_base_reserve=self.real_token_reserves,
            total_supply=self.token_total_supply,
            slot=slot,
            ts_ms=self.timestamp * 1000,
            received_ms=received_ms,
            signature=signature,
        )


def bonding_curve_address(mint: str) -> str:
    """The curve PDA `["bonding-curve", mint]` under the Pump.fun program."""
    try:
        mint_key = Pubkey.from_string(mint)
    except ValueError:
        raise DecodeError(f"not a base58 pubkey: {mint!r}") from None
    address, _bump = Pubkey.find_program_address([b"bonding-curve", bytes(mint_key)], _PUMP_PROGRAM)
    return str(address)


_SIZES = {"u8": 1, "bool": 1, "u64": 8, "i64": 8, "pubkey": 32}
_CURVE_LATER = (
    ("creator", "pubkey"),
    ("is_mayhem_mode", "bool"),
    ("is_cashback_coin", "bool"),
    ("quote_mint", "pubkey"),
    ("creator_fee_bps", "u64"),
    ("can_edit_creator_fee", "bool"),
    ("is_holder_reward", "bool"),
    ("creator_fee", "u64"),
    ("protocol_fees", "u64"),
    ("depth", "u8"),
    ("initial_virtual_quote_reserves", "u64"),
    ("post_complete_base_out", "u64"),
    ("post_complete_quote_in", "u64"),
)


def _read_zero_padded(data: bytes, offset: int, fields: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """Every field that starts inside `data`, the bytes it lacks read as zeros (the program's versioned
    reader and SDK `decodeBondingCurve` do the same: an account extended to 151 bytes stops mid-field)."""
    end = offset + sum(_SIZES[kind] for _name, kind in fields)
    padded = Reader(bytes(data) + bytes(max(0, end - len(data))), "BondingCurve", offset=offset)
    out: dict[str, Any] = {}
    for name, kind in fields:
        if padded.offset >= len(data):
            break
        out[name] = _reader_for(padded, kind)(name)
    return out


@dataclass(frozen=True, slots=True)
class BondingCurve:
    """The BondingCurve account, read by prefix: the program reads every length it ever wrote (49 bytes
    through `complete` up to 166 in the current IDL), a field past the end is None here."""

    virtual_token_reserves: int
    virtual_sol_reserves: int  # the IDL's virtual_quote_reserves: quote units for non-SOL coins
    real_token_reserves: int
    real_sol_reserves: int
    token_total_supply: int
    complete: bool
    creator: str | None = None
    is_mayhem_mode: bool | None = None
    is_cashback_coin: bool | None = None
    quote_mint: str | None = None  # DEFAULT_PUBKEY = SOL
    creator_fee_bps: int | None = None
    can_edit_creator_fee: bool | None = None
    is_holder_reward: bool | None = None
    creator_fee: int | None = None  # unswept (v3 trades)
    protocol_fees: int | None = None  # unswept (v3 trades)
    depth: int | None = None
    initial_virtual_quote_reserves: int | None = None
    post_complete_base_out: int | None = None
    post_complete_quote_in: int | None = None

    @classmethod
    def decode(cls, data: bytes) -> BondingCurve:
        """The account's full data, discriminator included."""
        if data[:8] != BONDING_CURVE_DISCRIMINATOR:
            raise DecodeError(f"BondingCurve: wrong account discriminator {bytes(data[:8]).hex()}")
        read = Reader(data, "BondingCurve", offset=8)
        return cls(
            virtual_token_reserves=read.u64("virtual_token_reserves"),
            virtual_sol_reserves=read.u64("virtual_sol_reserves"),
            real_token_reserves=read.u64("real_token_reserves"),
            real_sol_reserves=read.u64("real_sol_reserves"),
            token_total_supply=read.u64("token_total_supply"),
            complete=read.bool("complete"),
            **_read_zero_padded(data, read.offset, _CURVE_LATER),
        )

    @property
    def sol_paired(self) -> bool:
        return self.quote_mint in (None, DEFAULT_PUBKEY, WSOL)

    def to_curve(self) -> Curve:
        return Curve(
            virtual_token_reserves=self.virtual_token_reserves,
            virtual_sol_reserves=self.virtual_sol_reserves,
            real_token_reserves=self.real_token_reserves,
            real_sol_reserves=self.real_sol_reserves,
            complete=self.complete,
        )

    def parse_to_pool_state(
        self,
        address: str,
        *,
        base_mint: str,
        fee_bps: int,
        ts_ms: int,
        slot: int,
        received_ms: int,
        creator_fee_bps: int = 0,
    ) -> PoolState | None:
        """The curve as a pool. The account names neither its mint nor the fee its trades pay: `base_mint`
        ("" when not known yet), `fee_bps` and its creator part (0 until a trade showed them) come from the
        caller. None when the curve
        trades against a quote currency of unknown decimals."""
        quote = self.quote_mint if self.quote_mint not in (None, DEFAULT_PUBKEY) else WSOL
        assert quote is not None
        if quote not in DECIMALS:
            return None
        return PoolState(
            venue=VenueName.PUMPFUN.value,
            pool=address,
            base_mint=base_mint,
            quote_mint=quote,
            base_decimals=TOKEN_DECIMALS,
            quote_decimals=DECIMALS[quote],
            base_reserve=self.virtual_token_reserves,
            quote_reserve=self.virtual_sol_reserves,
            fee_bps=fee_bps,
            creator_fee_bps=creator_fee_bps,
            real_base_reserve=self.real_token_reserves,
            ts_ms=ts_ms,
            real_quote_reserve=self.real_sol_reserves,
            complete=self.complete,
            slot=slot,
            received_ms=received_ms,
        )


@dataclass(frozen=True, slots=True)
class BondingCurveAccount:
    """The BondingCurve account as the execution venue needs it: reserves, the creator (its vault is an
    account of every legacy and v2 trade; the default key on a 49-byte account), the quote mint (WSOL for
    SOL-paired coins) and the mayhem and cashback flags that pick the fee recipient and the accounts."""

    virtual_token_reserves: int
    virtual_sol_reserves: int
    real_token_reserves: int
    real_sol_reserves: int
    token_total_supply: int
    complete: bool
    creator: Pubkey
    is_mayhem_mode: bool = False
    is_cashback_coin: bool = False
    quote_mint: Pubkey = _WSOL_KEY
    creator_fee_bps: int = 0

    @classmethod
    def parse(cls, data: bytes) -> BondingCurveAccount:
        try:
            raw = BondingCurve.decode(data)
        except DecodeError as exc:
            raise DecodeError(f"not a Pump.fun BondingCurve account ({len(data)} bytes): {exc}") from None
        return cls(
            virtual_token_reserves=raw.virtual_token_reserves,
            virtual_sol_reserves=raw.virtual_sol_reserves,
            real_token_reserves=raw.real_token_reserves,
            real_sol_reserves=raw.real_sol_reserves,
            token_total_supply=raw.token_total_supply,
            complete=raw.complete,
            creator=Pubkey.from_string(raw.creator or DEFAULT_PUBKEY),
            is_mayhem_mode=bool(raw.is_mayhem_mode),
            is_cashback_coin=bool(raw.is_cashback_coin),
            quote_mint=_WSOL_KEY if raw.sol_paired else Pubkey.from_string(raw.quote_mint or WSOL),
            creator_fee_bps=raw.creator_fee_bps or 0,
        )

    def curve(self) -> Curve:
        return Curve(
            self.virtual_token_reserves,
            self.virtual_sol_reserves,
            self.real_token_reserves,
            self.real_sol_reserves,
            self.complete,
        )
