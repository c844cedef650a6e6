"""One portfolio's risk state, what its wallet is worth, and the memories that make inputs apply once.

The risk agent keeps one `RiskState` per portfolio in a Faust table (as `to_dict()`); the backtest keeps
it in memory. Units: balances, positions and order amounts are integers in raw token units; prices are
floats in human units (quote per base); equity is a float in USDC.

Halts (`halts`, kind -> reason; `halted`/`halt_reason` mirror it) refuse every buy; sells and exits go on.
Kinds (`risk.codes`): `manual` (cleared by a resume control), `drawdown` (from peak equity; sticky: only a
fresh risk state clears it), `daily_drawdown` (from the UTC day's opening equity; cleared at the next day
of event time), `stale` (every priced pair stale; cleared by the next fresh price).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from market.tokens import USDC, WSOL
from risk.limits import RiskLimits

SOL_DECIMALS = 9
USDC_DECIMALS = 6
# Powers of ten by token decimals (an SPL mint has at most 255), computed once: unit values are the
# hottest maths of a decision, and a table lookup gives the very same numbers as the power.
_TEN_POW = tuple(10**d for d in range(256))
_TEN_NEG_POW = tuple(10.0**-d for d in range(256))
USDC_UNIT = _TEN_NEG_POW[USDC_DECIMALS]  # USDC per raw unit of USDC
SOL_UNIT = _TEN_NEG_POW[SOL_DECIMALS]  # SOL per lamport
# Fill and signal ids the state remembers for its own idempotency checks. Re-emissions after a restart
# span seconds (uncommitted input), and the whole state is re-written each batch, so keep it small.
RECENT_IDS_KEPT = 512


@dataclass(slots=True)
class PairInfo:
    """A pair's mints and decimals, learnt from the pools on its signals (fills do not carry mints)."""

    base_mint: str
    quote_mint: str
    base_decimals: int
    quote_decimals: int


@dataclass(slots=True)
class Position:
    """A long in one pair. `cost_quote` is raw quote units paid (fees included) for what is still held."""

    pair: str
    base_mint: str
    quote_mint: str
    base_decimals: int
    quote_decimals: int
    base_amount: int
    cost_quote: int
    entry_price: float  # average, human quote per base, fees included
    realised_pnl_quote: float  # human quote units, from partial sells of this position
    opened_ts_ms: int
    high_price: float = 0.0  # highest price seen since entry (the trailing stop's anchor)
    strategy: str = ""  # the strategy whose signal opened it: its stop loss / take profit apply
    # Raw base units each opener holds of it (a strategy's name, or a kind: `manual`, `rebalance`): a
    # strategy's sell closes its own lot only. What no lot claims (older states) belongs to `strategy`.
    lots: dict[str, int] = field(default_factory=dict)
    # The last exit's id, and how many exits before it had the same one: an exit the order cap split is
    # sold in parts, and two prices of one event time (two strategies' signals of a snapshot) would
    # otherwise give two parts one id (`risk.exits.exit_all`).
    exit_id: str = ""
    exit_parts: int = 0


@dataclass(slots=True)
class PendingOrder:
    """What an order in flight reserves, so the next decision sees its exposure and cannot spend it twice."""

    pair: str
    side: str
    input_mint: str
    amount_in: int
    expected_base: int  # buy: expected base out; sell: base sold
    kind: str
    notional_usdc: float = 0.0  # buys: what the order spends, valued when decided (launch cap accounting)
    strategy: str = ""  # the signal's strategy (or the order's kind): the lot a fill moves


def remember(ids: dict[str, None], key: str, keep: int) -> None:
    """Insert into an insertion-ordered id set, dropping the oldest beyond `keep` (O(1) both ways)."""
    ids[key] = None
    while len(ids) > keep:
        del ids[next(iter(ids))]


def remember_value(d: dict[str, str], key: str, value: str, keep: int) -> None:
    """Set `key` as the newest entry of an insertion-ordered dict, dropping the oldest beyond `keep`."""
    d.pop(key, None)
    d[key] = value
    while len(d) > keep:
        del d[next(iter(d))]


@dataclass(slots=True)
class RiskState:
    """One portfolio's risk state; `to_dict()` is what the agent stores in its Faust table."""

    portfolio: str
    sol_mint: str
    usdc_mint: str
    balances: dict[str, int]  # mint -> raw units: the paper wallet
    positions: dict[str, Position] = field(default_factory=dict)  # by pair
    pending: dict[str, PendingOrder] = field(default_factory=dict)  # by order id
    prices: dict[str, float] = field(default_factory=dict)  # pair -> last signal price
    pairs: dict[str, PairInfo] = field(default_factory=dict)
    peak_equity_usdc: float = 0.0
    fallback_sol_usdc: float = 150.0  # values SOL until the first SOL/USDC signal price
    halted: bool = False
    halt_reason: str = ""
    offsets: dict[str, int] = field(default_factory=dict)  # f"{topic}:{partition}" -> last applied
    decided: int = 0
    approved: int = 0
    rejected: int = 0
    realised_pnl: dict[str, float] = field(default_factory=dict)  # pair -> human quote units, all time
    recent_fills: dict[str, None] = field(default_factory=dict)  # ordered set of applied fill ids
    recent_signals: dict[str, None] = field(default_factory=dict)  # ordered set of decided signal ids
    # f"{pair}|{strategy}" -> event time of the newest signal decided for it. A model restored from a
    # checkpoint re-emits the signals of the snapshots it replays (same ids, maybe other contents); they are
    # below this mark however many there are, where `recent_signals` only holds the last few hundred.
    signal_marks: dict[str, int] = field(default_factory=dict)
    signal_mark_ids: dict[str, list[str]] = field(default_factory=dict)  # the ids decided at each mark
    # Decisions saved with the state but not yet acknowledged on their topics: the agent publishes them only
    # after the state holding them is durable, and re-publishes them verbatim after a restart.
    outbox: list[dict[str, Any]] = field(default_factory=list)
    owner_epoch: int = 0  # the epoch of the worker that wrote this state last (risk/fencing.py); 0: none
    base_pair: dict[str, str] = field(default_factory=dict)  # base mint -> pair that prices it
    halts: dict[str, str] = field(default_factory=dict)  # halt kind -> reason (see the module docstring)
    flatten_pending: bool = False  # a halt asked for every position to be sold
    newest_ts_ms: int = 0  # the newest event time seen on any input
    price_ts: dict[str, int] = field(default_factory=dict)  # pair -> event time of its freshest price
    day_index: int = -1  # UTC day (event time) of day_start_equity_usdc
    day_start_equity_usdc: float = 0.0
    order_ts: list[int] = field(default_factory=list)  # event times of orders in the last minute
    venue_fills: dict[str, list[int]] = field(default_factory=dict)  # venue -> last fills, 1 = failed
    venue_halts: dict[str, str] = field(default_factory=dict)  # venue -> why its buys are halted
    launch_notional: dict[str, float] = field(default_factory=dict)  # launch pair -> USDC bought, all time
    bad_mints: dict[str, str] = field(default_factory=dict)  # mint -> which authority is still set
    pools: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # pair -> pools, while held
    # The newest control applied (by its wall-clock ts) and recent control ids: a control reaches risk twice
    # (Redis fast path, then the topic) and must apply once, and an older one must not undo a newer one.
    control_ts_ms: int = 0
    control_ids: dict[str, None] = field(default_factory=dict)
    strategy_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # strategy -> risk params
    rebalance: dict[str, Any] = field(default_factory=dict)  # the rebalance in progress (risk.rebalance)
    rebalance_result: dict[str, Any] = field(default_factory=dict)  # how the last rebalance ended
    # Price hygiene (risk.prices): a price far from the last accepted one waits here ([price, ts_ms]); the
    # accepted prices of the last pair_move_window_s ([ts_ms, price]); pairs whose buys a move halted
    # (pair -> [until ts_ms, reason]); f"{pair}|{strategy}" -> event time of its last stop exit.
    suspect_prices: dict[str, list[float]] = field(default_factory=dict)
    price_window: dict[str, list[list[float]]] = field(default_factory=dict)
    pair_halts: dict[str, list[Any]] = field(default_factory=dict)
    stopped: dict[str, int] = field(default_factory=dict)
    opening_sol_usdc: float = 0.0  # SOL's price when the wallet opened (opening_inventory = "excluded")

    @classmethod
    def initial(cls, portfolio: str, limits: RiskLimits, sol_mint: str, usdc_mint: str) -> RiskState:
        """A fresh paper wallet; its peak equity uses the SOL fallback price until a real one arrives."""
        state = cls(
            portfolio=portfolio,
            fallback_sol_usdc=limits.fallback_sol_usdc,
            sol_mint=sol_mint,
            usdc_mint=usdc_mint,
            balances={
                usdc_mint: round(limits.paper_start_usdc * 10**USDC_DECIMALS),
                sol_mint: round(limits.paper_start_sol * 10**SOL_DECIMALS),
            },
        )
        state.opening_sol_usdc = state.fallback_sol_usdc
        state.peak_equity_usdc = equity_usdc(state)
        return state

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (the id sets become lists, oldest first); what `dataclasses.asdict` gives,
        at a tenth of its cost: the risk agent writes the whole state once or twice a batch, and asdict
        took 2.9 ms on a 34 kB state (it deep-copies each of the 512 remembered signal ids, then the
        lists replaced them)."""
        return {
            name: list(getattr(self, name)) if name in _ID_SETS else _plain(getattr(self, name))
            for name in _STATE_FIELDS
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RiskState:
        return cls(
            portfolio=d["portfolio"],
            sol_mint=d["sol_mint"],
            usdc_mint=d["usdc_mint"],
            balances={k: int(v) for k, v in d["balances"].items()},
            positions={
                k: Position(**{**v, "lots": {s: int(n) for s, n in v.get("lots", {}).items()}})
                for k, v in d["positions"].items()
            },
            pending={k: PendingOrder(**v) for k, v in d["pending"].items()},
            prices={k: float(v) for k, v in d["prices"].items()},
            pairs={k: PairInfo(**v) for k, v in d["pairs"].items()},
            peak_equity_usdc=float(d["peak_equity_usdc"]),
            fallback_sol_usdc=float(d["fallback_sol_usdc"]),
            halted=bool(d["halted"]),
            halt_reason=d["halt_reason"],
            offsets={k: int(v) for k, v in d["offsets"].items()},
            decided=int(d["decided"]),
            approved=int(d["approved"]),
            rejected=int(d["rejected"]),
            realised_pnl={k: float(v) for k, v in d["realised_pnl"].items()},
            recent_fills=dict.fromkeys(d["recent_fills"]),
            recent_signals=dict.fromkeys(d["recent_signals"]),
            signal_marks={k: int(v) for k, v in d.get("signal_marks", {}).items()},
            signal_mark_ids={k: [str(i) for i in v] for k, v in d.get("signal_mark_ids", {}).items()},
            base_pair=dict(d["base_pair"]),
            halts=dict(d.get("halts", {})),
            flatten_pending=bool(d.get("flatten_pending", False)),
            newest_ts_ms=int(d.get("newest_ts_ms", 0)),
            price_ts={k: int(v) for k, v in d.get("price_ts", {}).items()},
            day_index=int(d.get("day_index", -1)),
            day_start_equity_usdc=float(d.get("day_start_equity_usdc", 0.0)),
            order_ts=[int(t) for t in d.get("order_ts", [])],
            venue_fills={k: [int(x) for x in v] for k, v in d.get("venue_fills", {}).items()},
            venue_halts=dict(d.get("venue_halts", {})),
            launch_notional={k: float(v) for k, v in d.get("launch_notional", {}).items()},
            bad_mints=dict(d.get("bad_mints", {})),
            pools={k: [dict(p) for p in v] for k, v in d.get("pools", {}).items()},
            outbox=[dict(o) for o in d.get("outbox", [])],
            owner_epoch=int(d.get("owner_epoch", 0)),
            control_ts_ms=int(d.get("control_ts_ms", 0)),
            control_ids=dict.fromkeys(d.get("control_ids", [])),
            strategy_params={k: dict(v) for k, v in d.get("strategy_params", {}).items()},
            rebalance=dict(d.get("rebalance", {})),
            rebalance_result=dict(d.get("rebalance_result", {})),
            suspect_prices={k: [float(x) for x in v] for k, v in d.get("suspect_prices", {}).items()},
            price_window={k: [list(x) for x in v] for k, v in d.get("price_window", {}).items()},
            pair_halts={k: list(v) for k, v in d.get("pair_halts", {}).items()},
            stopped={k: int(v) for k, v in d.get("stopped", {}).items()},
            opening_sol_usdc=float(d.get("opening_sol_usdc", 0.0)),
        )


def initial_state(portfolio: str, limits: RiskLimits) -> RiskState:
    """The state a portfolio starts from (no stored state yet): the paper wallet in wrapped SOL and USDC."""
    return RiskState.initial(portfolio, limits, WSOL, USDC)


# --- idempotency guard -------------------------------------------------------------------------------


def already_applied(state: RiskState, topic: str, partition: int, offset: int) -> bool:
    """True for a re-delivered message (offset at or below the last one applied on that partition)."""
    last = state.offsets.get(f"{topic}:{partition}")
    return last is not None and offset <= last


def raise_mark(state: RiskState, key: str, ts_ms: int, signal_id: str) -> None:
    """Record a signal decided for `key` (pair|strategy): the mark moves up to its time, and the ids decided
    at the mark are kept, so a replay of the newest one is known after its id left `recent_signals`."""
    mark = state.signal_marks.get(key)
    if mark is None or ts_ms > mark:
        state.signal_marks[key] = ts_ms
        state.signal_mark_ids[key] = [signal_id]
    elif ts_ms == mark and signal_id not in state.signal_mark_ids.setdefault(key, []):
        state.signal_mark_ids[key].append(signal_id)


def mark_applied(state: RiskState, topic: str, partition: int, offset: int) -> None:
    """Record that a message was applied; offsets only move forward."""
    key = f"{topic}:{partition}"
    if offset > state.offsets.get(key, -1):
        state.offsets[key] = offset


# --- what the wallet is worth (here, not in risk.exposure: a fresh state's peak equity needs it) ------


def sol_usdc_price(state: RiskState) -> float:
    """The latest SOL/USDC price from signals, or the state's fallback (from the limits, 150 by default)
    until one has been seen: SOL must be valued from the first event, before SOL/USDC has traded."""
    pair = state.base_pair.get(state.sol_mint)
    if pair is not None:
        price = state.prices.get(pair)
        if price is not None and state.pairs[pair].quote_mint == state.usdc_mint:
            return price
    return state.fallback_sol_usdc


def unit_value_usdc(state: RiskState, mint: str, _depth: int = 0) -> float:
    """USDC per raw unit of `mint`; 0.0 for a mint with no price yet (it is then not counted).

    A token is priced through its pair's quote (USDC, or SOL and then SOL/USDC); the depth bound stops a
    cycle of pairs quoted in each other from recursing forever.
    """
    if mint == state.usdc_mint:
        return USDC_UNIT
    if mint == state.sol_mint:
        return sol_usdc_price(state) * SOL_UNIT
    pair = state.base_pair.get(mint)
    if pair is None or _depth > 2:
        return 0.0
    price = state.prices.get(pair)
    info = state.pairs[pair]
    if price is None:
        return 0.0
    quote_human = unit_value_usdc(state, info.quote_mint, _depth + 1) * _TEN_POW[info.quote_decimals]
    return price * quote_human * _TEN_NEG_POW[info.base_decimals]


def equity_usdc(state: RiskState) -> float:
    """The wallet marked to the latest signal prices, in USDC (pending orders are still in balances).

    SOL is valued at the latest SOL/USDC signal price or, before one arrives, at `fallback_sol_usdc`
    (150 unless the limits say otherwise); a token whose pair has no price yet counts as 0.
    """
    # A list, not a generator: the same sum in the same order, without a generator frame per mint.
    return sum([amount * unit_value_usdc(state, mint) for mint, amount in state.balances.items() if amount])


_ID_SETS = frozenset({"recent_fills", "recent_signals", "control_ids"})
_STATE_FIELDS = tuple(f.name for f in fields(RiskState))
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    """`dataclasses.asdict`'s copy of one value, for the types a state holds: containers copied all the
    way down, dataclasses as dicts, scalars as they are, anything else deep-copied."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {k: _plain(v) for k, v in value.items()}
    if kind is list:
        return [_plain(v) for v in value]
    if kind is tuple:
        return tuple(_plain(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    return copy.deepcopy(value)
