"""Pre-trade checks: the limits a buy passes, in order, each a small function of one `BuyContext`.

A check returns None (pass), a `Reject` (the buy is refused with that reason code) or a `Resize` (a cap
on the buy's size, in USDC). The size caps (position, volatility target, Kelly) bound the position after
the buy: what the signal's strategy already holds of the pair (its lot at market and its pending buys,
`BuyContext.held_usdc`) is taken off them, so repeated buys never stack past the cap. The first resize
sets the size, a later one only shrinks it (a tie keeps the earlier cap), and `min_order` refuses a buy
that the binding cap leaves below the minimum order, with that cap's code. Checks run only on buys, after
the screening every signal gets (`risk.decide`); sells and exits are never refused by a limit.

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

from risk.attribution import lot_of
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
    PAIR_HALTED,
    POSITION_CAP,
    RATE_LIMITED,
    SCREENING_CODES,
    STALE_PRICE,
    STOP_COOLDOWN,
    STRATEGY_DISABLED,
    TOTAL_CAP_FULL,
    UNSUPPORTED_QUOTE,
    VENUE_HALTED,
)
from risk.inventory import inventory_exposure_usdc
from risk.limits import RiskLimits
from risk.orders import ORDER_CAP_MARGIN, orders_in_last_minute
from risk.prices import pair_halt
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
    _held: float | None = field(default=None, repr=False)

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

    @property
    def held_usdc(self) -> float:
        """What the signal's strategy already holds of the pair at market, plus its pending buys of it."""
        if self._held is not None:
            return self._held
        state, pair, strategy = self.state, self.signal.pair, self.signal.strategy
        held = 0.0
        pos = state.positions.get(pair)
        if pos is not None:
            held += lot_of(pos, strategy) * unit_value_usdc(state, pos.base_mint)
        for p in state.pending.values():
            if p.pair == pair and p.side == "buy" and p.strategy == strategy:
                held += p.amount_in * unit_value_usdc(state, p.input_mint)
        self._held = held
        return held


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
    """kelly_fraction of the Kelly bet f* = mean / variance of the return over the signal's horizon (the
    growth-optimal fraction for a small, roughly normal return), bounded by kelly_max_fraction.

    The mean is the expected return in the signal's direction; the variance is (volatility per second)^2
    x horizon in s. With no volatility the bet is the bound. Zero (no edge) when the expected return is 0
    or against the direction. (The former (2p - 1) / |E[r]| counted the edge twice and grew without
    bound as E[r] -> 0.)"""
    edge = signal.expected_return * signal.direction
    if not edge > 0.0:
        return 0.0
    variance = signal.volatility**2 * max(signal.horizon_ms, 0) / 1000.0
    kelly = edge / variance if variance > 0.0 else math.inf
    return max(0.0, limits.kelly_fraction * min(kelly, limits.kelly_max_fraction) * equity)


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
    fresh = [p for p in usable if not pool_stale(state, p, limits)]
    if not fresh:
        oldest = min(p.ts_ms for p in usable)
        age_s = (state.newest_ts_ms - oldest) / 1000.0
        return [], STALE_PRICE, f"every pool's state is stale (newest {age_s:.1f}s behind)"
    return fresh, "", ""


def pool_stale(state: RiskState, pool: PoolState, limits: RiskLimits) -> bool:
    """A pool state more than stale_price_s behind the newest event (a state with no time is not judged)."""
    return 0 < pool.ts_ms < state.newest_ts_ms - limits.stale_price_s * 1000.0


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


@check(PAIR_HALTED)
def pair_not_moving(ctx: BuyContext) -> Verdict:
    why = pair_halt(ctx.state, ctx.signal.pair, ctx.signal.ts_ms)
    return Reject(PAIR_HALTED, why) if why else None


@check(STOP_COOLDOWN)
def stop_cooled_down(ctx: BuyContext) -> Verdict:
    signal, wait_ms = ctx.signal, ctx.limits.stop_cooldown_s * 1000.0
    key = f"{signal.pair}|{signal.strategy}"
    stopped = ctx.state.stopped.get(key)
    if stopped is None:
        return None
    since_ms = signal.ts_ms - stopped
    if since_ms >= wait_ms:
        del ctx.state.stopped[key]  # cooled down: nothing left to remember
        return None
    detail = (
        f"{signal.strategy} stopped out of {signal.pair} {since_ms / 1000.0:.1f}s ago < {wait_ms / 1000.0:g}s"
    )
    return Reject(STOP_COOLDOWN, detail)


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


@check(NO_POOL, LOW_LIQUIDITY, VENUE_HALTED, STALE_PRICE)
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
    """A cap on the position after the buy: what the strategy holds of the pair counts against it."""
    return Resize(ctx.full_usdc - ctx.held_usdc, "position_cap", POSITION_CAP)


@check(POSITION_CAP)
def vol_target(ctx: BuyContext) -> Verdict:
    cap = vol_target_usdc(ctx.signal, ctx.equity, ctx.limits)
    return None if cap is None else Resize(cap * ctx.weight - ctx.held_usdc, "vol_target", POSITION_CAP)


@check(NO_EDGE, POSITION_CAP)
def kelly_edge(ctx: BuyContext) -> Verdict:
    cap = kelly_cap_usdc(ctx.signal, ctx.equity, ctx.limits) * ctx.weight
    if cap <= 0.0:
        signal = ctx.signal
        detail = f"confidence {signal.confidence:.3f}, expected return {signal.expected_return:.6g}"
        return Reject(NO_EDGE, detail)
    return Resize(cap - ctx.held_usdc, "kelly_cap", POSITION_CAP)


@check(POSITION_CAP)
def order_cap(ctx: BuyContext) -> Verdict:
    cap = ctx.limits.max_order_usdc
    return Resize(cap * (1.0 - ORDER_CAP_MARGIN), "order_cap", POSITION_CAP) if cap > 0 else None


@check(PAIR_CAP_FULL)
def pair_exposure(ctx: BuyContext) -> Verdict:
    held = pair_exposure_usdc(ctx.state, ctx.signal.pair)
    room = ctx.limits.max_pair_exposure_pct / 100.0 * ctx.equity - held
    return Resize(room, "pair_exposure_cap", PAIR_CAP_FULL)


@check(TOTAL_CAP_FULL)
def total_exposure(ctx: BuyContext) -> Verdict:
    held = total_exposure_usdc(ctx.state) + inventory_exposure_usdc(ctx.state, ctx.limits)
    room = ctx.limits.max_total_exposure_pct / 100.0 * ctx.equity - held
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
    pair_not_moving,
    stop_cooled_down,
    positions_free,
    order_rate,
    pools_usable,
    position_cap,
    vol_target,
    kelly_edge,
    order_cap,
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
