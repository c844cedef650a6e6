"""The risk knobs, frozen: every field is filled from the same-named field of `core.settings.Settings`.

A new limit is a field here and in Settings under the same name (with its README row), read by one check
in `risk.checks`: `from_settings` needs no edit, and importing this module fails if a field has no setting.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from core.errors import ConfigError
from core.settings import Settings


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The risk knobs, units in the names; built from Settings (`from_settings`) or directly in tests."""

    max_position_pct: float = 5.0
    max_pair_exposure_pct: float = 10.0
    max_total_exposure_pct: float = 50.0
    stop_loss_pct: float = 2.0
    max_drawdown_pct: float = 10.0
    max_slippage_bps: int = 100
    min_confidence: float = 0.55
    paper_start_usdc: float = 10_000.0
    paper_start_sol: float = 50.0
    min_order_usdc: float = 10.0
    # Used to value SOL (and SOL-quoted pairs) until the first SOL/USDC price arrives on a signal.
    fallback_sol_usdc: float = 150.0
    risk_per_trade_pct: float = 1.0
    kelly_fraction: float = 0.5
    max_concurrent_positions: int = 5
    max_orders_per_minute: int = 20
    min_pool_liquidity_usdc: float = 50_000.0
    max_launch_notional_usdc: float = 100.0
    mint_deny_list: tuple[str, ...] = ()
    take_profit_pct: float = 5.0
    trailing_stop_pct: float = 3.0
    max_hold_s: float = 3600.0
    max_daily_drawdown_pct: float = 5.0
    max_venue_error_rate: float = 0.5
    venue_error_window: int = 20
    venue_error_min_fills: int = 5
    stale_price_s: float = 30.0
    flatten_on_halt: bool = False
    rebalance_tolerance_pct: float = 0.5  # of equity: a pair this close to its target is done
    rebalance_deadline_s: float = 30.0  # of event time: then the rebalance ends, incomplete
    # Orders fill on the paper venue (no signature fee, priority fee or tip), so routing compares pools on
    # output alone; False prices each leg's transaction with venues.fees' model (live venues).
    paper_venue: bool = True
    split_chunks: int = 20  # a split buy's input is cut into this many equal parts (venues.routing)

    def __post_init__(self) -> None:
        for name in ("max_position_pct", "max_pair_exposure_pct", "max_total_exposure_pct"):
            value = getattr(self, name)
            if not 0.0 < value <= 100.0:
                raise ValueError(f"{name} must be in (0, 100], got {value}")
        if not 0.0 < self.stop_loss_pct < 100.0 or not 0.0 < self.max_drawdown_pct <= 100.0:
            raise ValueError("stop_loss_pct and max_drawdown_pct must be in (0, 100)")
        if not 0 < self.max_slippage_bps < 10_000:
            raise ValueError(f"max_slippage_bps must be in (0, 10000), got {self.max_slippage_bps}")
        if self.min_order_usdc <= 0.0 or self.fallback_sol_usdc <= 0.0:
            raise ValueError("min_order_usdc and fallback_sol_usdc must be positive")
        if self.paper_start_usdc < 0.0 or self.paper_start_sol < 0.0:
            raise ValueError("paper balances must be non-negative")
        if self.risk_per_trade_pct <= 0.0 or not 0.0 < self.kelly_fraction <= 1.0:
            raise ValueError("risk_per_trade_pct must be positive and kelly_fraction in (0, 1]")
        if self.max_concurrent_positions < 1 or self.max_orders_per_minute < 1:
            raise ValueError("max_concurrent_positions and max_orders_per_minute must be at least 1")
        if self.min_pool_liquidity_usdc < 0.0 or self.max_launch_notional_usdc < 0.0:
            raise ValueError("min_pool_liquidity_usdc and max_launch_notional_usdc must be non-negative")
        if min(self.take_profit_pct, self.trailing_stop_pct, self.max_hold_s, self.stale_price_s) <= 0.0:
            raise ValueError("take_profit_pct, trailing_stop_pct, max_hold_s, stale_price_s must be positive")
        if not 0.0 < self.trailing_stop_pct < 100.0 or not 0.0 < self.max_daily_drawdown_pct <= 100.0:
            raise ValueError("trailing_stop_pct and max_daily_drawdown_pct must be in (0, 100)")
        if not 0.0 <= self.max_venue_error_rate <= 1.0 or self.venue_error_window < 1:
            raise ValueError("max_venue_error_rate must be in [0, 1] and venue_error_window at least 1")
        if not 0.0 < self.rebalance_tolerance_pct < 100.0 or self.rebalance_deadline_s <= 0.0:
            raise ValueError("rebalance_tolerance_pct must be in (0, 100) and rebalance_deadline_s positive")
        if self.split_chunks < 2:
            raise ValueError(f"split_chunks must be at least 2, got {self.split_chunks}")

    @classmethod
    def from_settings(cls, s: Settings, **overrides: Any) -> RiskLimits:
        """Every field from the same-named setting (`overrides` win); a field with no setting is an error."""
        missing = settings_missing(cls, type(s))
        if missing:
            raise ConfigError(f"risk limits with no setting of the same name: {', '.join(missing)}")
        values: dict[str, Any] = {f.name: getattr(s, f.name) for f in fields(cls)}
        values.update(overrides)
        return cls(**values)


def settings_missing(limits: type[RiskLimits], settings: type[Settings] = Settings) -> list[str]:
    """The fields of `limits` that `settings` does not have (each limit must be a setting)."""
    return [f.name for f in fields(limits) if f.name not in settings.model_fields]


# Checked once at import: a limit added here without its setting fails every test that loads risk.
if settings_missing(RiskLimits):
    raise ConfigError(f"risk limits with no setting: {', '.join(settings_missing(RiskLimits))}")
