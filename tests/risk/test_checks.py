"""Pre-trade checks as a list: a new limit is one check function plus one setting, and nothing else moves.

Fresh paper wallet: 10 000 USDC + 50 SOL at the 150 USDC fallback = 17 500 USDC of equity; 5 % = 875.
"""

from __future__ import annotations

import pytest
from pydantic import Field
from risk_factories import fill_for, fresh, signal

import risk as rr
from core.errors import ConfigError
from core.settings import RiskLimitSettings, Settings, load_settings
from risk.checks import codes_of, run_checks
from risk.codes import SCREENING_CODES
from streams.records import Order, Rejection

LIMITS = rr.RiskLimits()


# --- a throwaway limit, declared here and nowhere else -----------------------------------------------------


class DeclaredWithPairBuys(RiskLimitSettings):
    """The one field a new limit needs (in the product: a field of `RiskLimitSettings`, core/settings.py)."""

    max_buys_in_flight_per_pair: int = Field(3, ge=1)


# What `Settings` and `RiskLimits` are once core/settings.py declares that field: the product's classes,
# unedited (neither declares a limit of its own; `test_every_limit_is_declared_once` holds them to it).
class SettingsWithPairBuys(Settings, DeclaredWithPairBuys):
    pass


class LimitsWithPairBuys(rr.RiskLimits, DeclaredWithPairBuys):
    pass


PAIR_BUSY = "pair_busy"


@rr.check(PAIR_BUSY)
def buys_in_flight(ctx: rr.BuyContext) -> rr.Reject | rr.Resize | None:
    """At most N buys of one pair in flight at once."""
    assert isinstance(ctx.limits, LimitsWithPairBuys)
    most = ctx.limits.max_buys_in_flight_per_pair
    busy = sum(1 for p in ctx.state.pending.values() if p.pair == ctx.signal.pair and p.side == "buy")
    if busy >= most:
        return rr.Reject(PAIR_BUSY, f"{busy} buys of {ctx.signal.pair} in flight >= {most}")
    return None


def test_a_new_limit_is_one_check_and_one_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_BUYS_IN_FLIGHT_PER_PAIR", "2")  # an environment key named after the field
    assert SettingsWithPairBuys(_env_file=None).max_buys_in_flight_per_pair == 2  # type: ignore[call-arg]
    settings = SettingsWithPairBuys(max_buys_in_flight_per_pair=1)
    limits = LimitsWithPairBuys.from_settings(settings)
    assert limits.max_buys_in_flight_per_pair == 1  # filled by name, from_settings untouched
    with pytest.raises(ValueError):  # the declaration's bounds hold for the limits too
        LimitsWithPairBuys(max_buys_in_flight_per_pair=0)
    checks = (*rr.PRE_TRADE_CHECKS, buys_in_flight)
    assert PAIR_BUSY in codes_of(checks)

    state = fresh(limits)
    first = rr.decide_all(state, signal("JUP/USDC", 1.0, sid="a"), limits, 7, checks=checks)
    assert isinstance(first[0], Order)
    # another strategy's buy of the pair (the first strategy's own position is full)
    second_signal = signal("JUP/USDC", 1.0, sid="b", strategy="b")
    (second,) = rr.decide_all(state, second_signal, limits, 7, checks=checks)
    assert isinstance(second, Rejection)
    assert second.reason == "pair_busy: 1 buys of JUP/USDC in flight >= 1"
    rr.apply_fill(state, fill_for(first[0]), limits)  # the buy is done: the pair takes the next one
    third_signal = signal("JUP/USDC", 1.0, sid="c", ts_ms=2_000, strategy="c")
    third = rr.decide_all(state, third_signal, limits, 7, checks=checks)
    assert isinstance(third[0], Order)

    # Without the check, the same second buy goes through: the limit is the check, nothing else.
    state = fresh(limits)
    rr.decide_all(state, signal("JUP/USDC", 1.0, sid="a"), limits, 7)
    assert isinstance(rr.decide_all(state, second_signal, limits, 7)[0], Order)


def test_a_check_can_resize_a_buy_and_its_code_refuses_it_below_the_minimum_order() -> None:
    def cap_at(usdc: float) -> rr.Check:
        @rr.check("tiny_cap_full")
        def tiny_cap(ctx: rr.BuyContext) -> rr.Reject | rr.Resize | None:
            return rr.Resize(usdc, "tiny_cap", "tiny_cap_full")

        return tiny_cap

    # before the minimum-order check, which refuses with the binding cap's code
    checks = (*rr.PRE_TRADE_CHECKS[:-1], cap_at(50.0), rr.PRE_TRADE_CHECKS[-1])
    (order,) = rr.decide_all(fresh(), signal("JUP/USDC", 1.0), LIMITS, 7, checks=checks)
    assert isinstance(order, Order) and order.amount_in == 50_000_000
    assert order.reason.startswith("resized: tiny_cap 50.00 of 875.00 USDC on raydium")
    checks = (*rr.PRE_TRADE_CHECKS[:-1], cap_at(5.0), rr.PRE_TRADE_CHECKS[-1])
    (rej,) = rr.decide_all(fresh(), signal("JUP/USDC", 1.0), LIMITS, 7, checks=checks)
    assert isinstance(rej, Rejection)
    assert rej.reason == "tiny_cap_full: tiny_cap leaves 5.00 USDC < min order 10"


def test_the_first_resize_sets_the_size_and_a_tie_keeps_the_earlier_cap() -> None:
    state = fresh()
    rr.decide_all(state, signal("JUP/USDC", 1.0, sid="learn", confidence=0.1), LIMITS, 7)  # learn the pair
    ctx = rr.BuyContext(state, signal("JUP/USDC", 1.0), state.pairs["JUP/USDC"], LIMITS)

    def resize(size: float, cap: str) -> rr.Check:
        return rr.check()(lambda _ctx: rr.Resize(size, cap, cap))

    assert run_checks(ctx, (resize(900.0, "a"), resize(900.0, "b"), resize(950.0, "c"))) is None
    assert ctx.binding == rr.Resize(900.0, "a", "a")
    assert run_checks(ctx, (resize(899.0, "d"),)) is None
    assert ctx.binding == rr.Resize(899.0, "d", "d")


def test_checks_that_size_nothing_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="sized the buy"):
        rr.decide_all(fresh(), signal("JUP/USDC", 1.0), LIMITS, 7, checks=())


def test_the_pre_trade_checks_run_in_this_order() -> None:
    """The order decides which reason a buy gets when several limits bind (audit rows, dashboard)."""
    assert [c.name for c in rr.PRE_TRADE_CHECKS] == [
        "strategy_enabled",
        "not_halted",
        "mint_allowed",
        "mint_authorities_revoked",
        "quote_supported",
        "price_fresh",
        "pair_not_moving",
        "stop_cooled_down",
        "positions_free",
        "order_rate",
        "pools_usable",
        "position_cap",
        "vol_target",
        "kelly_edge",
        "order_cap",
        "pair_exposure",
        "total_exposure",
        "balance",
        "launch_cap",
        "min_order",
    ]


def test_reject_codes_follow_from_the_checks() -> None:
    assert set(rr.REJECT_CODES) == {
        rr.BAD_SIGNAL,
        rr.DUPLICATE,
        rr.LOW_CONFIDENCE,
        rr.NO_POOL,
        rr.UNSUPPORTED_QUOTE,
        rr.EXIT_PENDING,
        rr.HALTED,
        rr.NO_POSITION,
        rr.POSITION_CAP,
        rr.PAIR_CAP_FULL,
        rr.TOTAL_CAP_FULL,
        rr.INSUFFICIENT_BALANCE,
        rr.SLIPPAGE,
        rr.NO_EDGE,
        rr.MAX_POSITIONS,
        rr.RATE_LIMITED,
        rr.LOW_LIQUIDITY,
        rr.LAUNCH_CAP_FULL,
        rr.DENIED_MINT,
        rr.MINT_AUTHORITY,
        rr.STALE_PRICE,
        rr.VENUE_HALTED,
        rr.STRATEGY_DISABLED,
        rr.PAIR_HALTED,
        rr.STOP_COOLDOWN,
        rr.OUTLIER_PRICE,
    }
    assert len(rr.REJECT_CODES) == len(set(rr.REJECT_CODES))
    assert not set(rr.REJECT_CODES) & set(rr.ORDER_CODES)


# --- limits come from settings by name --------------------------------------------------------------------


def test_every_limit_is_declared_once() -> None:
    """One declaration (`RiskLimitSettings`): `Settings` and `RiskLimits` inherit it and add no limit."""
    declared = RiskLimitSettings.model_fields
    assert issubclass(Settings, RiskLimitSettings) and issubclass(rr.RiskLimits, RiskLimitSettings)
    assert list(rr.RiskLimits.model_fields) == list(declared)
    assert not own_annotations(rr.RiskLimits)
    assert not own_annotations(Settings) & declared.keys()
    for name, field in declared.items():  # the same default, type and bounds everywhere
        assert repr(Settings.model_fields[name]) == repr(field) == repr(rr.RiskLimits.model_fields[name]), (
            name
        )


def own_annotations(cls: type) -> set[str]:
    return set(vars(cls).get("__annotations__", {}))


def test_every_check_code_is_a_reject_code() -> None:
    """A check's codes reach `REJECT_CODES` (the audit's and the dashboard's vocabulary) by its decorator."""
    for chk in rr.PRE_TRADE_CHECKS:
        assert set(chk.codes) <= set(rr.REJECT_CODES), chk.name
    assert rr.REJECT_CODES[: len(SCREENING_CODES)] == SCREENING_CODES


def test_from_settings_fills_every_field_by_name() -> None:
    values = {
        "max_position_pct": 3.0,
        "min_order_usdc": 12.5,
        "fallback_sol_usdc": 140.0,
        "venue_error_min_fills": 2,
        "paper_venue": False,
        "split_chunks": 8,
        "mint_deny_list": "MintA,MintB",
    }
    settings = load_settings(**values)
    limits = rr.RiskLimits.from_settings(settings)
    for name in rr.RiskLimits.model_fields:
        assert getattr(limits, name) == getattr(settings, name), name
    assert limits.mint_deny_list == ("MintA", "MintB") and limits.split_chunks == 8
    assert rr.RiskLimits.from_settings(settings, max_position_pct=1.0).max_position_pct == 1.0


def test_the_environment_keys_are_the_field_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_POSITION_PCT", "3")
    monkeypatch.setenv("MINT_DENY_LIST", "MintA, MintB")
    monkeypatch.setenv("PAPER_START_SOL", "0")
    limits = rr.RiskLimits.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    assert (limits.max_position_pct, limits.mint_deny_list, limits.paper_start_sol) == (
        3.0,
        ("MintA", "MintB"),
        0.0,
    )


def test_unknown_limit_names_are_refused() -> None:
    with pytest.raises(ValueError, match="max_positon_pct"):
        rr.RiskLimits(max_positon_pct=3.0)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="max_positon_pct"):
        rr.RiskLimits.from_settings(load_settings(), max_positon_pct=3.0)
    with pytest.raises(ValueError, match="max_positon_pct"):
        LIMITS.replace(max_positon_pct=3.0)


def test_limits_are_frozen() -> None:
    with pytest.raises(ValueError):
        LIMITS.max_position_pct = 1.0  # type: ignore[misc]
    assert LIMITS.replace(max_position_pct=1.0).max_position_pct == 1.0 and LIMITS.max_position_pct == 5.0


# Each bound the limits had before they were declared once (RiskLimits.__post_init__), just outside it.
OUT_OF_BOUNDS = [
    ("max_position_pct", 0.0),
    ("max_position_pct", 100.5),
    ("max_pair_exposure_pct", 0.0),
    ("max_pair_exposure_pct", 100.5),
    ("max_total_exposure_pct", 0.0),
    ("max_total_exposure_pct", 100.5),
    ("stop_loss_pct", 0.0),
    ("stop_loss_pct", 100.0),
    ("max_drawdown_pct", 0.0),
    ("max_drawdown_pct", 100.5),
    ("max_slippage_bps", 0),
    ("max_slippage_bps", 10_000),
    ("min_order_usdc", 0.0),
    ("fallback_sol_usdc", 0.0),
    ("paper_start_usdc", -1.0),
    ("paper_start_sol", -1.0),
    ("risk_per_trade_pct", 0.0),
    ("kelly_fraction", 0.0),
    ("kelly_fraction", 1.01),
    ("max_concurrent_positions", 0),
    ("max_orders_per_minute", 0),
    ("min_pool_liquidity_usdc", -1.0),
    ("max_launch_notional_usdc", -1.0),
    ("take_profit_pct", 0.0),
    ("trailing_stop_pct", 0.0),
    ("trailing_stop_pct", 100.0),
    ("max_hold_s", 0.0),
    ("stale_price_s", 0.0),
    ("max_daily_drawdown_pct", 0.0),
    ("max_daily_drawdown_pct", 100.5),
    ("max_venue_error_rate", -0.1),
    ("max_venue_error_rate", 1.1),
    ("venue_error_window", 0),
    ("rebalance_tolerance_pct", 0.0),
    ("rebalance_tolerance_pct", 100.0),
    ("rebalance_deadline_s", 0.0),
    ("split_chunks", 1),
]


@pytest.mark.parametrize("name,value", OUT_OF_BOUNDS)
def test_a_limit_out_of_bounds_is_refused_however_it_is_built(name: str, value: float) -> None:
    with pytest.raises(ValueError, match=name):
        rr.RiskLimits(**{name: value})
    with pytest.raises(ValueError, match=name):
        LIMITS.replace(**{name: value})
    with pytest.raises(ConfigError, match=name.upper()):
        load_settings(**{name: value})


def test_the_bounds_are_inclusive_where_they_were() -> None:
    edges = {
        "max_position_pct": 100.0,
        "stop_loss_pct": 99.9,
        "max_drawdown_pct": 100.0,
        "kelly_fraction": 1.0,
        "max_venue_error_rate": 1.0,
        "min_pool_liquidity_usdc": 0.0,
        "paper_start_usdc": 0.0,
        "split_chunks": 2,
    }
    limits = rr.RiskLimits(**edges)
    assert {name: getattr(limits, name) for name in edges} == edges
    assert rr.RiskLimits(max_venue_error_rate=0.0).max_venue_error_rate == 0.0


def test_a_limit_without_a_setting_is_refused() -> None:
    class Orphan(rr.RiskLimits):
        max_nothing: float = 1.0

    with pytest.raises(ConfigError, match="max_nothing"):
        Orphan.from_settings(load_settings())
