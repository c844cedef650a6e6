"""Cross-venue arbitrage: buy base on the cheaper pool and sell it on the dearer one, when that pays.

`venue_spread_bps` is a cheap first gate (the gap must beat the two pools' fees plus `min_edge_bps`), then the
round trip is priced exactly with `market.amm` for `size_quote` of the quote mint: quote in on the cheap pool,
its whole base output sold into the dear pool. The trade is wanted only when the quote that comes back beats
what went in by `min_edge_bps`: fees and both pools' price impact for that size are in the integer maths.
Only constant-product venues (not bonding curves). The intent is a buy (+1) of the pair carrying both legs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from market import amm
from market.venues import is_constant_product
from models.online import Prediction
from models.strategies.base import ConfiguredStrategy, StrategyParams, finite, require
from models.strategy import Intent
from streams.records import PoolState


@dataclass(frozen=True)
class ArbitrageIntent(Intent):
    """An `Intent` with both legs: buy base for `amount_in` raw quote on `buy_pool`, sell on `sell_pool`."""

    buy_venue: str = ""
    buy_pool: str = ""
    sell_venue: str = ""
    sell_pool: str = ""
    amount_in: int = 0  # raw quote units into the buy leg
    base_amount: int = 0  # raw base units out of the buy leg, into the sell leg
    amount_out: int = 0  # raw quote units out of the sell leg
    edge_bps: float = 0.0  # (amount_out - amount_in) / amount_in


@dataclass(frozen=True)
class ArbitrageParams(StrategyParams):
    size_quote: float = 1_000.0  # human quote units per round trip
    min_edge_bps: float = 5.0  # net of fees and impact
    confidence: float = 0.9

    def __post_init__(self) -> None:
        require(finite(self.size_quote) and self.size_quote > 0.0, "size_quote must be > 0")
        require(finite(self.min_edge_bps) and self.min_edge_bps >= 0.0, "min_edge_bps must be >= 0")
        require(finite(self.confidence) and 0.5 < self.confidence <= 1.0, "confidence in (0.5, 1]")


def _price(pool: PoolState) -> float:
    return pool.quote_reserve / pool.base_reserve  # raw units: only compared between pools of one pair


def round_trip(buy: PoolState, sell: PoolState, amount_in: int) -> tuple[int, int]:
    """(base bought on `buy`, quote received selling it on `sell`), integer AMM maths with fees."""
    base = amm.quote_out(amount_in, buy.quote_reserve, buy.base_reserve, buy.fee_bps)
    back = amm.quote_out(base, sell.base_reserve, sell.quote_reserve, sell.fee_bps)
    return base, back


class ArbitrageStrategy(ConfiguredStrategy[ArbitrageParams]):
    name = "arbitrage"
    params_type = ArbitrageParams

    def on_features(
        self,
        pair: str,
        ts_ms: int,
        price: float,
        features: dict[str, float],
        prediction: Prediction | None,
        *,
        pools: Sequence[PoolState] = (),
    ) -> Intent | None:
        p = self.params_for(pair)
        live = [
            x for x in pools if is_constant_product(x.venue) and x.base_reserve > 0 and x.quote_reserve > 0
        ]
        if len(live) < 2:
            return None
        cheap, dear = min(live, key=_price), max(live, key=_price)
        spread = features.get("venue_spread_bps", 0.0)
        if not finite(spread) or spread <= cheap.fee_bps + dear.fee_bps + p.min_edge_bps:
            return None
        amount_in = int(p.size_quote * 10**cheap.quote_decimals)
        base, back = round_trip(cheap, dear, amount_in)
        if base <= 0 or back <= 0:
            return None
        edge_bps = (back - amount_in) / amount_in * 10_000.0
        if edge_bps <= p.min_edge_bps:
            return None
        return ArbitrageIntent(
            pair=pair,
            direction=1,
            confidence=p.confidence,
            expected_return=math.log(back / amount_in),
            strategy=self.name,
            buy_venue=cheap.venue,
            buy_pool=cheap.pool,
            sell_venue=dear.venue,
            sell_pool=dear.pool,
            amount_in=amount_in,
            base_amount=base,
            amount_out=back,
            edge_bps=edge_bps,
        )
