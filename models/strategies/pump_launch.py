"""Pump.fun launch momentum: ride a young bonding curve while buyers keep arriving, leave when they stop.

Derived from the features the pipeline already has (documented because they are proxies):
- curve progress: a Pump.fun curve's `liquidity_quote` is 2 x its *virtual* SOL reserve, which starts at 30
  SOL and reaches ~115.0 SOL when the last sellable token is bought (constant product over the initial
  virtual reserves), so progress = (liquidity_quote / 2 - 30) / (115.0 - 30), clipped to [0, 1]. When the
  snapshot's pools are passed, the curve's `real_base_reserve` gives it exactly instead.
- buyer velocity: trades_10s / 10 x (1 + ofi_10s) / 2, buys per second if buys and sells were of one size
  (ofi is by volume, so a few large buys overstate it).

Only `*/SOL` pairs whose pool is a pumpfun curve (or, without pools, whose liquidity is in the curve's range:
a major pool such as BONK/SOL holds thousands of SOL). Ask to buy while progress is in [min, max] and
velocity and ofi_10s are high enough; ask to sell a pair it asked to buy when ofi_10s falls to `exit_ofi`
(a dump or a rug), when velocity collapses or the curve nears completion.

The strategy does not know what risk made of its asks (it runs before risk, and must give the same
signals whoever runs it), so it never assumes a buy happened: it asks again on every snapshot the entry
holds, and risk sizes each ask against what the strategy's lot already is, the position cap and the
launch's all-time cap (`MAX_LAUNCH_NOTIONAL_USDC`). It once marked itself holding on asking: a buy risk
refused (a halted pair, a full cap, a busy curve over the slippage cap) then kept it out of that curve
until the exit came.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from market import bonding_curve as bc
from market.venues import is_bonding_curve
from models.online import Prediction
from models.strategies.base import ConfiguredStrategy, StrategyParams, finite, require
from models.strategy import Intent
from streams.records import PoolState

START_VIRTUAL_SOL = bc.INITIAL_VIRTUAL_SOL_RESERVES / 1e9
# virtual SOL when real token reserves reach 0: k / (virtual tokens - real tokens)
END_VIRTUAL_SOL = (
    bc.INITIAL_VIRTUAL_TOKEN_RESERVES
    * bc.INITIAL_VIRTUAL_SOL_RESERVES
    / (bc.INITIAL_VIRTUAL_TOKEN_RESERVES - bc.INITIAL_REAL_TOKEN_RESERVES)
    / 1e9
)


def progress_from_liquidity(liquidity_quote: float) -> float:
    return min(
        max((liquidity_quote / 2.0 - START_VIRTUAL_SOL) / (END_VIRTUAL_SOL - START_VIRTUAL_SOL), 0.0), 1.0
    )


def progress_from_curve(pool: PoolState) -> float:
    return min(max(1.0 - pool.real_base_reserve / bc.INITIAL_REAL_TOKEN_RESERVES, 0.0), 1.0)


def buyer_velocity(trades_10s: float, ofi_10s: float) -> float:
    return trades_10s / 10.0 * (1.0 + ofi_10s) / 2.0


@dataclass(frozen=True)
class PumpLaunchParams(StrategyParams):
    min_progress: float = 0.02
    max_progress: float = 0.6
    exit_progress: float = 0.9
    min_buys_per_s: float = 1.0
    exit_buys_per_s: float = 0.2
    min_ofi: float = 0.3
    exit_ofi: float = -0.3
    confidence: float = 0.6
    expected_return: float = 0.05  # log return hoped for per entry: a prior, not an estimate

    def __post_init__(self) -> None:
        require(
            finite(self.min_progress, self.max_progress, self.exit_progress)
            and 0.0 <= self.min_progress < self.max_progress <= self.exit_progress <= 1.0,
            "need 0 <= min_progress < max_progress <= exit_progress <= 1",
        )
        require(
            finite(self.min_buys_per_s, self.exit_buys_per_s)
            and 0.0 <= self.exit_buys_per_s < self.min_buys_per_s,
            "need 0 <= exit_buys_per_s < min_buys_per_s",
        )
        require(
            finite(self.min_ofi, self.exit_ofi) and -1.0 <= self.exit_ofi < self.min_ofi <= 1.0,
            "need -1 <= exit_ofi < min_ofi <= 1",
        )
        require(finite(self.confidence) and 0.5 < self.confidence <= 1.0, "confidence in (0.5, 1]")
        require(finite(self.expected_return) and self.expected_return > 0.0, "expected_return must be > 0")


class PumpLaunchStrategy(ConfiguredStrategy[PumpLaunchParams]):
    name = "pump_launch"
    params_type = PumpLaunchParams

    def __init__(
        self, params: PumpLaunchParams | None = None, pair_params: dict[str, PumpLaunchParams] | None = None
    ) -> None:
        super().__init__(params, pair_params)
        self.entered: set[str] = set()  # pairs it asked to buy since its last exit there: what it may sell

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
        if not pair.endswith("/SOL"):
            return None
        p = self.params_for(pair)
        trades, ofi, liq = (
            features.get("trades_10s", 0.0),
            features.get("ofi_10s", 0.0),
            features.get("liquidity_quote", 0.0),
        )
        if not finite(trades, ofi, liq):
            return None
        curves = [x for x in pools if is_bonding_curve(x.venue)]
        if pools:
            if not curves:
                return None
            progress = progress_from_curve(curves[0])
        else:
            if not 2.0 * START_VIRTUAL_SOL <= liq <= 2.0 * END_VIRTUAL_SOL * 1.01:
                return None
            progress = progress_from_liquidity(liq)
        velocity = buyer_velocity(trades, ofi)
        if p.min_progress <= progress <= p.max_progress and velocity >= p.min_buys_per_s and ofi >= p.min_ofi:
            self.entered.add(pair)  # asked again while it holds: risk buys only what the caps leave
            return Intent(pair, 1, p.confidence, p.expected_return, self.name)
        if pair in self.entered and (
            ofi <= p.exit_ofi or velocity <= p.exit_buys_per_s or progress >= p.exit_progress
        ):
            self.entered.discard(pair)  # risk sells the strategy's own lot, if its buys left one
            return Intent(pair, -1, p.confidence, -p.expected_return, self.name)
        return None
