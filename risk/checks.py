"""Pre-trade checks: the limits a buy passes, in order, each a small function of one `BuyContext`.

A check returns None (pass), a `Reject` (the buy is refused with that reason code) or a `Resize` (a cap
on the buy's size, in USDC). The first resize sets the size, a later one only shrinks it (a tie keeps the
earlier cap), and `min_order` refuses a buy that the binding cap leaves below the minimum order, with that
cap's code. Checks run only on buys, after the screening every signal gets (`risk.decide`); sells and
exits are never refused by a limit.

A new limit is two edits: its value, one field of `core.settings.RiskLimitSettings` (the one declaration
`Settings` and `RiskLimits` inherit: environment key, default and bounds; plus its README row), and one
function here, decorated with `@check(<its reason codes>)` and listed in `PRE_TRADE_CHECKS` where it
belongs in the order, reading `ctx.limits.<field>`. `REJECT_CODES` follows from the list. (Rebalance
slices, `risk.rebalance`, pass the same limits through their own gate, worded for the rebalance's alert:
a limit that must also hold for them is added there too.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from risk.breakers import is_stale
from risk.codes import (
    DENIED_MINT,
    HALTED,
    INSUFFICIENT_BALANCE,
    LAUNCH_CAP_FULL,
    LOW_LIQUIDITY,
    MAX_POSITIONS,
    MINT_AUTHORITY,
    NO_EDGE,
    NO_POOL,
    PAIR_CAP_FULL,
    POSITION_CAP,
    RATE_LIMITED,
    SCREENING_CODES,
    STALE_PRICE,
    STRATEGY_DISABLED,
    TOTAL_CAP_FULL,
    UNSUPPORTED_QUOTE,
    VENUE_HALTED,
)
from risk.limits import RiskLimits
from risk.orders import orders_in_last_minute
from risk.pricing import PUMPFUN
from risk.state import PairInfo, RiskState, equity_usdc, unit_value_usdc
from risk.valuation import available, open_pairs, pair_exposure_usdc, pool_liquidity_usdc, total_exposure_usdc
from streams.records import PoolState, Signal

# Verdicts are plain slotted classes, not frozen or named tuples: a buy's checks build several, and those
# are several times slower to build (the decision is on the hot path; bench_risk_decide measures it).


@dataclass(slots=True)
class Reject:
    """The buy is refused: reason `"<code>: <detail>"`."""

    code: str
    detail: str


@dataclass(slots=True)
class Resize:
    """A cap on the buy: at most `size_usdc`; `cap` names it in the order's reason, and `code` is the
    rejection if it binds below the minimum order."""

    size_usdc: float
    cap: str
    code: str


Verdict = Reject | Resize | None


@dataclass(slots=True)
class BuyContext:
    """What a buy's checks look at: the signal, the state, the limits, and the cap binding so far.

    Valuations are computed on first use and kept (the checks do not move balances or prices).
    """

    state: RiskState
    signal: Signal
    info: PairInfo
    limits: RiskLimits
    binding: Resize | None = None  # the smallest cap so far (None until the first resize)
    # The strategy's share of capital (allocator), in [0, 1]: it scales the signal-driven caps.
    weight: float = field(init=False)
    _equity: float | None = field(default=None, repr=False)
    _quote_unit: float | None = field(default=None, repr=False)
    _free_raw: int | None = field(default=None, repr=False)
    _eligible: tuple[list[PoolState], str, str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.weight = min(max(self.signal.weight, 0.0), 1.0)

    @property
    def equity(self) -> float:
        if self._equity is None:
            self._equity = equity_usdc(self.state)
        return self._equity

    @property
    def quote_unit(self) -> float:
        """USDC per raw unit of the pair's quote."""
        if self._quote_unit is None:
            self._quote_unit = unit_value_usdc(self.state, self.info.quote_mint)
        return self._quote_unit

    @property
    def free_raw(self) -> int:
        """Raw quote units not reserved by pending orders (negative when over-reserved)."""
        if self._free_raw is None:
            self._free_raw = available(self.state, self.info.quote_mint)
        return self._free_raw

    @property
    def eligible(self) -> tuple[list[PoolState], str, str]:
        """`eligible_pools` of the signal's pools."""
        if self._eligible is None:
            self._eligible = eligible_pools(self.state, self.info, self.signal.pools, self.limits)
        return self._eligible

    @property
    def pools(self) -> list[PoolState]:
        """The pools the buy may use (once `pools_usable` has passed, never empty)."""
        return self.eligible[0]

    @property
    def full_usdc(self) -> float:
        """The per-position size: max_position_pct of equity, times the weight."""
        return position_cap_usdc(self.equity, self.limits) * self.weight


@dataclass(frozen=True, slots=True)
class Check:
    """A pre-trade check and the reason codes it may refuse with (what `REJECT_CODES` is made of)."""

    run: Callable[[BuyContext], Verdict]
    codes: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.run.__name__


def check(*codes: str) -> Callable[[Callable[[BuyContext], Verdict]], Check]:
    """Make a function of the buy's context a `Check` that may refuse with `codes`."""

    def wrap(run: Callable[[BuyContext], Verdict]) -> Check:
        return Check(run, codes)

    return wrap


def run_checks(ctx: BuyContext, checks: Iterable[Check]) -> Reject | None:
    """Run `checks` in order: the first rejection ends it; a resize binds when it is the first or smaller
    than the binding one (`ctx.binding`)."""
    for chk in checks:
        verdict = chk.run(ctx)
        if verdict is None:
            continue
        if isinstance(verdict, Reject):
            return verdict
        binding = ctx.binding
        if binding is None or verdict.size_usdc < binding.size_usdc:
            ctx.binding = verdict
    return None


# --- sizes --------------------------------------------------------------------------------------------


def position_cap_usdc(equity: float, limits: RiskLimits) -> float:
    """max_position_pct of equity."""
    return limits.max_position_pct / 100.0 * equity


def vol_target_usdc(signal: Signal, equity: float, limits: RiskLimits) -> float | None:
    """The notional whose one-sigma move over the signal's horizon costs risk_per_trade_pct of equity:
    risk budget / (volatility per second x sqrt(horizon in s)). None (no cap) at zero volatility."""
    horizon_sigma = signal.volatility * math.sqrt(max(signal.horizon_ms, 0) / 1000.0)
    if horizon_sigma > 0.0:
        return limits.risk_per_trade_pct / 100.0 * equity / horizon_sigma
    return None


def kelly_cap_usdc(signal: Signal, equity: float, limits: RiskLimits) -> float:
    """kelly_fraction of the Kelly bet on a move of +-|expected return| that is right with probability
    p = confidence: f* = (2p - 1) / |expected return| of equity (maximises p ln(1 + f r) + (1 - p)
    ln(1 - f r)). Zero (no edge) when the expected return is 0 or against the direction, or p <= 0.5."""
    edge = signal.expected_return * signal.direction
    kelly = (2.0 * signal.confidence - 1.0) / edge if edge > 0.0 else 0.0
    return max(0.0, limits.kelly_fraction * kelly * equity)


def size_caps(signal: Signal, equity: float, limits: RiskLimits) -> list[tuple[str, float]]:
    """The signal-driven caps of a new position, in USDC: position_cap, vol_target (when the signal has
    a volatility), kelly_cap."""
    caps = [("position_cap", position_cap_usdc(equity, limits))]
    vol = vol_target_usdc(signal, equity, limits)
    if vol is not None:
        caps.append(("vol_target", vol))
    caps.append(("kelly_cap", kelly_cap_usdc(signal, equity, limits)))
    return caps


def eligible_pools(
    state: RiskState, info: PairInfo, pools: Iterable[PoolState], limits: RiskLimits
) -> tuple[list[PoolState], str, str]:
    """The pair's pools a buy may use, else the rejection (code, detail) that says why there are none.

    Bonding curves are exempt from the liquidity floor (they are capped by the launch cap instead).
    """
    mine = [p for p in pools if p.base_mint == info.base_mint and p.quote_mint == info.quote_mint]
    if not mine:
        return [], NO_POOL, "signal carries no pool for the pair"
    deep = [
        p
        for p in mine
        if p.venue == PUMPFUN or pool_liquidity_usdc(state, p) >= limits.min_pool_liquidity_usdc
    ]
    if not deep:
        best = max(pool_liquidity_usdc(state, p) for p in mine)
        detail = f"deepest pool {best:.0f} USDC < {limits.min_pool_liquidity_usdc:g}"
        return [], LOW_LIQUIDITY, detail
    usable = [p for p in deep if p.venue not in state.venue_halts]
    if not usable:
        venues = sorted({p.venue for p in deep})
        detail = "; ".join(f"{v}: {state.venue_halts[v]}" for v in venues)
        return [], VENUE_HALTED, detail
    return usable, "", ""


# --- the checks, in the order they run ------------------------------------------------------------------


@check(STRATEGY_DISABLED)
def strategy_enabled(ctx: BuyContext) -> Verdict:
    params = ctx.state.strategy_params.get(ctx.signal.strategy, {})
    if not params.get("enabled", True):
        return Reject(STRATEGY_DISABLED, f"strategy {ctx.signal.strategy} is disabled (strategy.params)")
    return None


@check(HALTED)
def not_halted(ctx: BuyContext) -> Verdict:
    if ctx.state.halted:
        return Reject(HALTED, ctx.state.halt_reason or "manual")
    return None


@check(DENIED_MINT)
def mint_allowed(ctx: BuyContext) -> Verdict:
    mint = ctx.info.base_mint
    if mint in ctx.limits.mint_deny_list:
        return Reject(DENIED_MINT, f"{mint} is on MINT_DENY_LIST")
    return None


@check(MINT_AUTHORITY)
def mint_authorities_revoked(ctx: BuyContext) -> Verdict:
    mint = ctx.info.base_mint
    if mint in ctx.state.bad_mints:
        return Reject(MINT_AUTHORITY, f"{mint}: {ctx.state.bad_mints[mint]}")
    return None


@check(UNSUPPORTED_QUOTE)
def quote_supported(ctx: BuyContext) -> Verdict:
    quote_mint = ctx.info.quote_mint
    if quote_mint not in (ctx.state.usdc_mint, ctx.state.sol_mint) or ctx.quote_unit <= 0.0:
        return Reject(UNSUPPORTED_QUOTE, f"quote mint {quote_mint}")
    return None


@check(STALE_PRICE)
def price_fresh(ctx: BuyContext) -> Verdict:
    state, pair = ctx.state, ctx.signal.pair
    if is_stale(state, pair, ctx.limits):
        age_s = (state.newest_ts_ms - state.price_ts.get(pair, 0)) / 1000.0
        return Reject(STALE_PRICE, f"{pair} price {age_s:.1f}s behind")
    return None


@check(MAX_POSITIONS)
def positions_free(ctx: BuyContext) -> Verdict:
    held, most = open_pairs(ctx.state), ctx.limits.max_concurrent_positions
    if ctx.signal.pair not in held and len(held) >= most:
        return Reject(MAX_POSITIONS, f"{len(held)} pairs open >= {most}")
    return None


@check(RATE_LIMITED)
def order_rate(ctx: BuyContext) -> Verdict:
    recent, most = orders_in_last_minute(ctx.state, ctx.signal.ts_ms), ctx.limits.max_orders_per_minute
    if recent >= most:
        return Reject(RATE_LIMITED, f"{recent} orders in the last 60s >= {most}")
    return None


@check(NO_POOL, LOW_LIQUIDITY, VENUE_HALTED)
def pools_usable(ctx: BuyContext) -> Verdict:
    """Some pool is deep enough and on a venue that is not halted. A pair with a bonding-curve pool is
    a launch from here on: what is bought of it counts towards max_launch_notional_usdc."""
    pools, code, detail = ctx.eligible
    if not pools:
        return Reject(code, detail)
    pair, launches = ctx.signal.pair, ctx.state.launch_notional
    if pair not in launches and any(p.venue == PUMPFUN for p in pools):
        launches[pair] = 0.0
    return None


@check(POSITION_CAP)
def position_cap(ctx: BuyContext) -> Verdict:
    return Resize(ctx.full_usdc, "position_cap", POSITION_CAP)


@check(POSITION_CAP)
def vol_target(ctx: BuyContext) -> Verdict:
    cap = vol_target_usdc(ctx.signal, ctx.equity, ctx.limits)
    return None if cap is None else Resize(cap * ctx.weight, "vol_target", POSITION_CAP)


@check(NO_EDGE, POSITION_CAP)
def kelly_edge(ctx: BuyContext) -> Verdict:
    cap = kelly_cap_usdc(ctx.signal, ctx.equity, ctx.limits) * ctx.weight
    if cap <= 0.0:
        signal = ctx.signal
        detail = f"confidence {signal.confidence:.3f}, expected return {signal.expected_return:.6g}"
        return Reject(NO_EDGE, detail)
    return Resize(cap, "kelly_cap", POSITION_CAP)


@check(PAIR_CAP_FULL)
def pair_exposure(ctx: BuyContext) -> Verdict:
    held = pair_exposure_usdc(ctx.state, ctx.signal.pair)
    room = ctx.limits.max_pair_exposure_pct / 100.0 * ctx.equity - held
    return Resize(room, "pair_exposure_cap", PAIR_CAP_FULL)


@check(TOTAL_CAP_FULL)
def total_exposure(ctx: BuyContext) -> Verdict:
    room = ctx.limits.max_total_exposure_pct / 100.0 * ctx.equity - total_exposure_usdc(ctx.state)
    return Resize(room, "total_exposure_cap", TOTAL_CAP_FULL)


@check(INSUFFICIENT_BALANCE)
def balance(ctx: BuyContext) -> Verdict:
    return Resize(max(ctx.free_raw, 0) * ctx.quote_unit, "balance", INSUFFICIENT_BALANCE)


@check(LAUNCH_CAP_FULL)
def launch_cap(ctx: BuyContext) -> Verdict:
    bought = ctx.state.launch_notional.get(ctx.signal.pair)
    if bought is None:
        return None
    return Resize(ctx.limits.max_launch_notional_usdc - bought, "launch_cap", LAUNCH_CAP_FULL)


@check()  # refuses with the binding cap's code (each cap declares it)
def min_order(ctx: BuyContext) -> Verdict:
    binding, least = ctx.binding, ctx.limits.min_order_usdc
    if binding is not None and binding.size_usdc < least:
        detail = f"{binding.cap} leaves {binding.size_usdc:.2f} USDC < min order {least:g}"
        return Reject(binding.code, detail)
    return None


PRE_TRADE_CHECKS: tuple[Check, ...] = (
    strategy_enabled,
    not_halted,
    mint_allowed,
    mint_authorities_revoked,
    quote_supported,
    price_fresh,
    positions_free,
    order_rate,
    pools_usable,
    position_cap,
    vol_target,
    kelly_edge,
    pair_exposure,
    total_exposure,
    balance,
    launch_cap,
    min_order,
)


def codes_of(checks: Sequence[Check]) -> tuple[str, ...]:
    """Every reason code `checks` may refuse with, in order, once each."""
    return tuple(dict.fromkeys(code for chk in checks for code in chk.codes))


REJECT_CODES = tuple(dict.fromkeys((*SCREENING_CODES, *codes_of(PRE_TRADE_CHECKS))))
