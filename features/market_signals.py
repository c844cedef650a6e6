"""Market data beside the swaps, as features: Jupiter's quote for a pair (`raw.quotes`) and the Drift
perp book of its base (`raw.perps`), kept per pair as the latest of each and read at a snapshot.

Pure: the features fold keeps the context in its pair state and calls these at a snapshot; the backtest
and `models.evaluate` run the same fold. A pair that never had a quote or a book gets no such features
(its snapshots are those of a run without market data); one whose quote or book is older than
`MAX_AGE_MS` at the snapshot gets the neutral values with `has_quote` / `has_perp` at 0.

Shapes: `JupiterQuote` and `PerpBook` (streams/records.py), as the collectors publish them; their
sources are named where they are parsed (venues/jupiter/schemas.py: the Swap API's quote;
venues/drift/schemas.py: the DLOB's L2 book in PRICE (1e6) and BASE (1e9) precision, hourly funding as a
fraction). Nothing here reads a wire format.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from streams.records import JupiterQuote, PerpBook, PoolState

MAX_AGE_MS = 30_000  # older market data says nothing about now
PRICE_PRECISION = 10**6  # Drift's (venues/drift/schemas.py; features may not import venues)
QUOTE_FEATURES = ("quote_cost_bps", "quote_age_s", "has_quote")
PERP_FEATURES = (
    "perp_basis_bps",
    "perp_spread_bps",
    "perp_imbalance",
    "perp_funding_bps_h",
    "perp_age_s",
    "has_perp",
)
GROUPS: dict[str, tuple[str, ...]] = {"quote": QUOTE_FEATURES, "perp": PERP_FEATURES}


def perp_pair(market: str) -> str:
    """The spot pair a perp market prices: `SOL-PERP` -> `SOL/USDC` (Drift's perps settle in USDC)."""
    return f"{market.removesuffix('-PERP')}/USDC"


def quote_context(quote: JupiterQuote) -> dict[str, Any] | None:
    """What a snapshot needs of a quote (None when it quotes nothing)."""
    if quote.in_amount <= 0 or quote.out_amount <= 0:
        return None
    return {
        "ts_ms": int(quote.ts_ms),
        "input_mint": quote.input_mint,
        "in_amount": int(quote.in_amount),
        "out_amount": int(quote.out_amount),
    }


def perp_context(book: PerpBook) -> dict[str, Any] | None:
    """What a snapshot needs of a book (None when a side is empty: no mid to compare)."""
    if book.best_bid <= 0 or book.best_ask <= 0:
        return None
    mid = (book.best_bid + book.best_ask) / 2 / PRICE_PRECISION
    return {
        "ts_ms": int(book.ts_ms),
        "mid": mid,
        "spread_bps": (book.best_ask - book.best_bid) / PRICE_PRECISION / mid * 1e4,
        "imbalance": max(-1.0, min(1.0, float(book.imbalance))),
        "funding_h": float(book.funding_rate_hourly),
    }


def newer(held: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> bool:
    """A re-delivered or late record never replaces a newer one (the context is the latest by event time)."""
    return new is not None and (held is None or int(new["ts_ms"]) >= int(held["ts_ms"]))


def market_features(
    context: Mapping[str, Any],
    price: float,
    ts_ms: int,
    pools: Sequence[PoolState],
    max_age_ms: int = MAX_AGE_MS,
) -> dict[str, float]:
    """The market-data features of a snapshot at `price` (quote per base, human units) and `ts_ms`."""
    out: dict[str, float] = {}
    quote = context.get("quote")
    if quote is not None:
        out.update(_quote_features(quote, price, ts_ms, pools, max_age_ms))
    perp = context.get("perp")
    if perp is not None:
        out.update(_perp_features(perp, price, ts_ms, max_age_ms))
    return out


def _age_s(held: Mapping[str, Any], ts_ms: int, max_age_ms: int) -> float | None:
    """Seconds from the data's time to the snapshot's; None when too old, or newer than the snapshot
    (read ahead of the swaps: a snapshot never sees what came after it)."""
    age_ms = ts_ms - int(held["ts_ms"])
    return age_ms / 1000.0 if 0 <= age_ms <= max_age_ms else None


def _quote_features(
    quote: Mapping[str, Any], price: float, ts_ms: int, pools: Sequence[PoolState], max_age_ms: int
) -> dict[str, float]:
    """`quote_cost_bps`: what trading through the aggregator costs against the pools' price, whichever
    way the quote goes (fees and impact; negative when the aggregator finds a better price than the pools
    the bot sees)."""
    age = _age_s(quote, ts_ms, max_age_ms)
    jup = _quote_price(quote, pools)
    if jup is None or price <= 0.0 or age is None:
        return {"quote_cost_bps": 0.0, "quote_age_s": 0.0, "has_quote": 0.0}
    bought_base = all(quote["input_mint"] != p.base_mint for p in pools)
    gap = math.log(jup / price) * 1e4
    return {"quote_cost_bps": gap if bought_base else -gap, "quote_age_s": age, "has_quote": 1.0}


def _quote_price(quote: Mapping[str, Any], pools: Sequence[PoolState]) -> float | None:
    """The quote's price in quote per base (human units), with the decimals of a pool of the same two
    mints (None when no pool of the pair trades them: a quote for other mints says nothing here)."""
    for pool in pools:
        base_unit, quote_unit = 10.0**pool.base_decimals, 10.0**pool.quote_decimals
        if quote["input_mint"] == pool.base_mint:  # sells base: out is the quote mint
            return (quote["out_amount"] / quote_unit) / (quote["in_amount"] / base_unit)
        if quote["input_mint"] == pool.quote_mint:
            return (quote["in_amount"] / quote_unit) / (quote["out_amount"] / base_unit)
    return None


def _perp_features(perp: Mapping[str, Any], price: float, ts_ms: int, max_age_ms: int) -> dict[str, float]:
    """`perp_basis_bps`: the perp's mid against the spot pools' price; funding per hour in bps."""
    age = _age_s(perp, ts_ms, max_age_ms)
    if price <= 0.0 or age is None:
        return dict.fromkeys(PERP_FEATURES, 0.0)
    return {
        "perp_basis_bps": math.log(float(perp["mid"]) / price) * 1e4,
        "perp_spread_bps": float(perp["spread_bps"]),
        "perp_imbalance": float(perp["imbalance"]),
        "perp_funding_bps_h": float(perp["funding_h"]) * 1e4,
        "perp_age_s": age,
        "has_perp": 1.0,
    }
