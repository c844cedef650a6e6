"""Drift v2's payloads as typed structs: DLOB L2 books and funding rates (the data APIs), and perp
positions read back from a User account or the API (PROTOCOLS.md §5), named as Drift names them.

The L2 shape is drift-common's `RawL2Output`: prices and sizes are integer strings in PRICE (1e6) and
BASE (1e9) precision, and stay integers here; only the derived features (spread in bps, imbalance,
hourly funding) are floats. No captured real L2 response was at hand when this was written: the parser
follows the documented shape and refuses anything else with a DecodeError naming the field.

Book features are pure functions of integers:
- spread_bps = (ask - bid) / mid * 1e4 with mid = (bid + ask) / 2;
- depth within N bps: the size of bids priced at or above mid * (1 - N/1e4), and of asks at or below
  mid * (1 + N/1e4), compared in integers (2 * price * 1e4 against (bid + ask) * (1e4 -/+ N));
- imbalance = (bid_depth - ask_depth) / (bid_depth + ask_depth), 0 when both are empty.

Hourly funding fraction = (fundingRate / 1e9) / (oraclePriceTwap / 1e6) (the docs disagree about a
further x100; this is the fraction, not a percentage).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from core.errors import DecodeError
from streams.records import PerpBook

PROGRAM_ID = "dRiftyHA39MWEi3m9aunc5MzRF1JYuBsbn6VPcn33UH"
PRICE_PRECISION = 10**6
BASE_PRECISION = 10**9
QUOTE_PRECISION = 10**6
FUNDING_RATE_PRECISION = 10**9
PERP_MARKETS = {"SOL-PERP": 0, "BTC-PERP": 1, "ETH-PERP": 2}
USER_DISCRIMINATOR = hashlib.sha256(b"account:User").digest()[:8]


def _int(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise DecodeError(f"{where}: expected an integer (string), got {value!r}")


@dataclass(frozen=True, slots=True)
class L2Level:
    price: int  # PRICE precision
    size: int  # BASE precision
    sources: dict[str, int]  # "dlob", "vamm", ... -> size


@dataclass(frozen=True, slots=True)
class OracleData:
    price: int
    slot: int
    confidence: int
    twap: int | None


@dataclass(frozen=True, slots=True)
class L2Book:
    market_name: str
    market_type: str
    market_index: int
    slot: int
    bids: tuple[L2Level, ...]  # best first
    asks: tuple[L2Level, ...]
    oracle: OracleData | None

    @classmethod
    def parse(cls, data: Any) -> L2Book:
        if not isinstance(data, dict):
            raise DecodeError("l2: expected an object")
        sides: dict[str, tuple[L2Level, ...]] = {}
        for side in ("bids", "asks"):
            raw = data.get(side)
            if not isinstance(raw, list):
                raise DecodeError(f"l2.{side}: expected a list")
            levels = []
            for i, level in enumerate(raw):
                where = f"l2.{side}[{i}]"
                if not isinstance(level, dict):
                    raise DecodeError(f"{where}: expected an object")
                sources = level.get("sources") or {}
                if not isinstance(sources, dict):
                    raise DecodeError(f"{where}.sources: expected an object")
                levels.append(
                    L2Level(
                        price=_int(level.get("price"), f"{where}.price"),
                        size=_int(level.get("size"), f"{where}.size"),
                        sources={str(k): _int(v, f"{where}.sources.{k}") for k, v in sources.items()},
                    )
                )
            sides[side] = tuple(levels)
        oracle = None
        raw_oracle = data.get("oracleData")
        if isinstance(raw_oracle, dict):
            twap = raw_oracle.get("twap")
            oracle = OracleData(
                price=_int(raw_oracle.get("price"), "l2.oracleData.price"),
                slot=_int(raw_oracle.get("slot"), "l2.oracleData.slot"),
                confidence=_int(raw_oracle.get("confidence", 0), "l2.oracleData.confidence"),
                twap=None if twap is None else _int(twap, "l2.oracleData.twap"),
            )
        name = data.get("marketName")
        return cls(
            market_name=name if isinstance(name, str) else "",
            market_type=str(data.get("marketType", "perp")),
            market_index=_int(data.get("marketIndex"), "l2.marketIndex"),
            slot=_int(data.get("slot", data.get("marketSlot", 0)), "l2.slot"),
            bids=sides["bids"],
            asks=sides["asks"],
            oracle=oracle,
        )

    def parse_to_perp_book(
        self,
        market: str,
        funding: FundingRate | None,
        *,
        band_bps: int,
        ts_ms: int,
        received_ms: int,
        levels: int = 10,
    ) -> PerpBook:
        """The book as the domain's `PerpBook`: best prices, spread, depth and imbalance within `band_bps`,
        the top `levels` per side, and the latest funding (hourly fraction)."""
        best_bid = self.bids[0].price if self.bids else 0
        best_ask = self.asks[0].price if self.asks else 0
        bid_depth, ask_depth = depth_within(self.bids, self.asks, band_bps)
        return PerpBook(
            market=market,
            market_index=self.market_index,
            slot=self.slot,
            best_bid=best_bid,
            best_ask=best_ask,
            oracle_price=self.oracle.price if self.oracle else 0,
            spread_bps=spread_bps(best_bid, best_ask),
            depth_bps=band_bps,
            bid_depth=bid_depth,
            ask_depth=ask_depth,
            imbalance=imbalance(bid_depth, ask_depth),
            bids=[[lv.price, lv.size] for lv in self.bids[:levels]],
            asks=[[lv.price, lv.size] for lv in self.asks[:levels]],
            funding_rate_hourly=funding.hourly_fraction if funding else 0.0,
            funding_ts_ms=funding.ts * 1000 if funding else 0,
            ts_ms=ts_ms,
            received_ms=received_ms,
        )


@dataclass(frozen=True, slots=True)
class FundingRate:
    slot: int
    ts: int  # unix seconds
    market_index: int
    funding_rate: int  # FUNDING_RATE precision
    oracle_price_twap: int  # PRICE precision
    mark_price_twap: int

    @property
    def hourly_fraction(self) -> float:
        if self.oracle_price_twap == 0:
            return 0.0
        return (self.funding_rate / FUNDING_RATE_PRECISION) / (self.oracle_price_twap / PRICE_PRECISION)


def parse_funding(data: Any) -> list[FundingRate]:
    """`{fundingRates: [...]}`, oldest or newest first (the order is not documented; callers take max ts)."""
    rows = data.get("fundingRates") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise DecodeError("fundingRates: expected an object with a fundingRates list")
    out = []
    for i, row in enumerate(rows):
        where = f"fundingRates[{i}]"
        if not isinstance(row, dict):
            raise DecodeError(f"{where}: expected an object")
        out.append(
            FundingRate(
                slot=_int(row.get("slot"), f"{where}.slot"),
                ts=_int(row.get("ts"), f"{where}.ts"),
                market_index=_int(row.get("marketIndex"), f"{where}.marketIndex"),
                funding_rate=_int(row.get("fundingRate"), f"{where}.fundingRate"),
                oracle_price_twap=_int(row.get("oraclePriceTwap"), f"{where}.oraclePriceTwap"),
                mark_price_twap=_int(row.get("markPriceTwap"), f"{where}.markPriceTwap"),
            )
        )
    return out


# -- pure book features ------------------------------------------------------------------------------


def spread_bps(best_bid: int, best_ask: int) -> float:
    """(ask - bid) / mid in basis points; 0.0 when a side is missing (0)."""
    if best_bid <= 0 or best_ask <= 0:
        return 0.0
    return (best_ask - best_bid) * 20_000 / (best_bid + best_ask)


def depth_within(bids: tuple[L2Level, ...], asks: tuple[L2Level, ...], band_bps: int) -> tuple[int, int]:
    """Size resting within `band_bps` of the mid on each side (BASE precision); (0, 0) without a mid."""
    if not bids or not asks:
        return 0, 0
    mid2 = bids[0].price + asks[0].price  # twice the mid: keeps the comparison in integers
    bid_floor = mid2 * (10_000 - band_bps)
    ask_ceiling = mid2 * (10_000 + band_bps)
    bid_depth = sum(level.size for level in bids if 2 * level.price * 10_000 >= bid_floor)
    ask_depth = sum(level.size for level in asks if 2 * level.price * 10_000 <= ask_ceiling)
    return bid_depth, ask_depth


def imbalance(bid_depth: int, ask_depth: int) -> float:
    total = bid_depth + ask_depth
    return 0.0 if total == 0 else (bid_depth - ask_depth) / total


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
