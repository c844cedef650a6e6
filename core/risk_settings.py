"""The risk limits' settings, apart from the rest of `core.settings` (which re-exports them) because
they are the biggest group and `risk.limits` builds its limits from them alone."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import NoDecode


class RiskLimitSettings(BaseModel):
    """The risk limits, each declared once: `Settings` inherits them (environment keys = field names) and
    `risk.limits.RiskLimits` is built from them; units are in the names (percentages of equity, basis
    points of price). A new limit is one field here (its description
    is its documentation) and one check in `risk.checks`.

    The bounds are the limits' invariants: the risk engine refuses any value outside them, from the
    environment, a test or an operator's per-strategy override alike.
    """

    model_config = ConfigDict(frozen=True)

    max_position_pct: float = Field(
        5.0,
        gt=0.0,
        le=100.0,
        description="largest position of a strategy in a pair after a buy (held plus bought), % of equity",
    )
    max_pair_exposure_pct: float = Field(
        10.0, gt=0.0, le=100.0, description="exposure cap per pair, % of equity"
    )
    max_total_exposure_pct: float = Field(
        50.0, gt=0.0, le=100.0, description="exposure cap over all pairs, % of equity"
    )
    stop_loss_pct: float = Field(2.0, gt=0.0, lt=100.0, description="exit a long this far below its entry")
    max_drawdown_pct: float = Field(
        10.0, gt=0.0, le=100.0, description="halt new risk below this drawdown from peak equity"
    )
    max_slippage_bps: int = Field(
        100, ge=1, le=5000, description="largest price impact accepted; also the order's slippage bound"
    )
    min_confidence: float = Field(
        0.55, ge=0.5, le=1.0, description="least probability of being right for a signal to trade"
    )
    risk_per_trade_pct: float = Field(
        1.0,
        gt=0.0,
        le=100.0,
        description=(
            "volatility target: a buy is sized so one horizon-sigma move costs at most this % of equity"
        ),
    )
    kelly_fraction: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description=(
            "fraction of the Kelly bet (expected return / variance over the horizon, at most "
            "`kelly_max_fraction`) a buy may take, as a share of equity"
        ),
    )
    kelly_max_fraction: float = Field(
        1.0,
        gt=0.0,
        le=10.0,
        description="bound on the full Kelly bet, as a share of equity (before `kelly_fraction`)",
    )
    max_concurrent_positions: int = Field(5, ge=1, description="most pairs held or being bought at once")
    max_orders_per_minute: int = Field(
        20,
        ge=1,
        description="most orders (exits included) per 60 s of event time; beyond it new buys are refused",
    )
    min_pool_liquidity_usdc: float = Field(
        50_000.0,
        ge=0.0,
        description="least pool liquidity (2 x quote reserve, in USDC) to buy on; Pump.fun curves are exempt",
    )
    max_order_usdc: float = Field(
        0.0,
        ge=0.0,
        description=(
            "the largest notional of one order in USDC (0: none): a buy is shrunk to it, a sell (a "
            "strategy's or a protective exit) sells at most this much and the rest follows; a live run "
            "takes the smaller of this and `live_max_order_usdc`"
        ),
    )
    max_launch_notional_usdc: float = Field(
        100.0,
        ge=0.0,
        description=(
            "most USDC ever bought of one Pump.fun launch (or of a SOL-quoted pair whose mint is unknown)"
        ),
    )
    mint_deny_list: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="base mints never bought (comma-separated)"
    )  # env: comma-separated mints
    take_profit_pct: float = Field(5.0, gt=0.0, le=1000.0, description="exit a long this far above its entry")
    trailing_stop_pct: float = Field(
        3.0, gt=0.0, lt=100.0, description="exit a long this far below the highest price seen since entry"
    )
    max_hold_s: float = Field(3600.0, gt=0.0, description="exit a long held this long (event time)")
    max_daily_drawdown_pct: float = Field(
        5.0,
        gt=0.0,
        le=100.0,
        description=(
            "halt new buys below this drawdown from the UTC day's opening equity (event time); clears next "
            "day"
        ),
    )
    max_venue_error_rate: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description=(
            "halt a venue's new buys when failed / all of its last `VENUE_ERROR_WINDOW` fills exceed this"
        ),
    )
    venue_error_window: int = Field(
        20,
        ge=1,
        description=(
            "fills per venue the error rate is measured over (at least `VENUE_ERROR_MIN_FILLS` must be seen)"
        ),
    )
    stale_price_s: float = Field(
        30.0,
        gt=0.0,
        description=(
            "a pair with no price this long (event time, behind the newest event) takes no buys; all stale "
            "halts"
        ),
    )
    flatten_on_halt: bool = Field(
        False, description="when a breaker or `solbot halt` halts, also sell every position"
    )
    rebalance_tolerance_pct: float = Field(
        0.5,
        gt=0.0,
        lt=100.0,
        description="a rebalance is done when every target pair is within this % of equity of its target",
    )  # of equity: a pair this close is done
    rebalance_deadline_s: float = Field(
        30.0,
        gt=0.0,
        description=(
            "seconds of event time a rebalance may take; then it ends `rebalance_incomplete` with the "
            "residuals"
        ),
    )  # of event time: then the rebalance ends, incomplete
    min_order_usdc: float = Field(
        10.0,
        gt=0.0,
        description="smallest order risk sends; a buy that a cap or the balance leaves below it is refused",
    )
    # Values SOL (and SOL-quoted pairs) until the first SOL/USDC price arrives on a signal.
    fallback_sol_usdc: float = Field(
        150.0,
        gt=0.0,
        description=(
            "the SOL price (USDC) that values SOL and SOL-quoted pairs until the first SOL/USDC signal price"
        ),
    )
    venue_error_min_fills: int = Field(
        5,
        ge=1,
        description=(
            "fills a venue must have (or its whole window, if smaller) before its error rate can halt it"
        ),
    )
    # Orders fill on the paper venue (no signature fee, priority fee or tip), so routing compares pools on
    # output alone; False prices each leg's transaction with venues.fees' model (live venues).
    paper_venue: bool = Field(
        True,
        description=(
            "orders fill on the paper venue (no transaction costs), so routing compares pools on output "
            "alone; `false` prices each leg's fees and tip"
        ),
    )
    split_chunks: int = Field(
        20,
        ge=2,
        description=(
            "a buy too large for one pool's slippage cap is cut into this many equal parts to split across "
            "pools"
        ),
    )  # a split buy's input is cut into this many equal parts
    opening_inventory: Literal["counted", "drawdown", "excluded"] = Field(
        "counted",
        description=(
            "the wallet's tokens held outside positions (the opening SOL): `counted` puts them at market in "
            "the total exposure and their revaluation in the drawdown; `drawdown` in the drawdown only; "
            "`excluded` in neither (valued at their opening price for the drawdown)"
        ),
    )
    stop_cooldown_s: float = Field(
        60.0, ge=0.0, description="after a stop exit, the strategy buys that pair again only this much later"
    )
    pair_move_halt_pct: float = Field(
        20.0,
        gt=0.0,
        le=1000.0,
        description="a pair whose price moves more than this % within `pair_move_window_s` takes no buys",
    )
    pair_move_window_s: float = Field(
        10.0, gt=0.0, le=3600.0, description="the span (event time) a pair's price move is measured over"
    )
    pair_move_halt_s: float = Field(
        120.0, ge=0.0, description="how long a pair's buys stay halted after a price move halt"
    )
    price_outlier_pct: float = Field(
        50.0,
        gt=0.0,
        description=(
            "a price this far (%) from the pair's last accepted one is held back until the next price "
            "confirms it (within this % of it): one outlier never reaches equity or peak equity"
        ),
    )
    # The paper wallet's opening balances.
    paper_start_usdc: float = Field(10_000.0, ge=0.0, description="paper wallet's opening USDC")
    paper_start_sol: float = Field(50.0, ge=0.0, description="paper wallet's opening SOL")

    @field_validator("mint_deny_list", mode="before")
    @classmethod
    def _split_mints(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(m.strip() for m in value.split(",") if m.strip())
        return value
