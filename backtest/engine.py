"""The backtest: a recording through the live decision code, in one process, as fast as it goes.

Stages, each the code the live agents run:

  raw.swaps  -> `features.folding.FeatureFolder` on `MemoryTable`s (flushed every `BATCH_MAX_EVENTS`
                records, like the agent's batches; snapshots do not depend on batching)
  snapshot   -> `models.signals.SignalModels.step` (a private instance: no shared module state): the
                pair's model, every enabled strategy's signal, the bandit's allocation per cycle
  signal     -> `risk.apply.apply_record` on a `RiskState` (topic "signals", partition 0)
  order      -> `venues.paper.execution.PaperVenue.fill` against the ledger's wallet
  fill       -> the ledger (balances, positions: `store.execution`'s booking rules) and
                `risk.apply.apply_record` (topic "fills", partition 0)

Ordering (documented, deterministic): records in file order; a swap's snapshot is scored at once. How
an order fills is the `backtest.fill_model.FillModel`'s: by default (`FillModel.from_settings`) each
order fills `BACKTEST_LATENCY_MS` of event time after its decision, on the pool as the recording (and
the bot's own earlier fills) left it then, with network fees and optionally a sandwich; signals that
arrive while an order is unfilled wait for its fill, as the risk agent's fill barrier makes them wait.
With `FillModel.pipeline()` each decision's orders are filled at once on the state they were priced on,
and every fill is applied to the risk state before the next message (the exits and the entry of one
signal are filled in the order risk emitted them): the paper pipeline's own behaviour, which a broker
replay of the same recording reproduces order for order.

Clocks: `now_ms` given to risk and to the venue is the signal's event time (`ts_ms`), not the wall
clock, so `decided_ms` / `filled_ms` — and whole orders and fills — are identical from run to run.
Raw records that fail their schema are counted as dead letters and skipped, as the agents do.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from backtest.fill_model import FillModel, PoolBook, execute
from backtest.memory_tables import feature_tables
from backtest.recording import RecordedMessage
from backtest.result import DEAD_LINE, BacktestResult, Ledger, TradeRecord
from core.errors import DecodeError, VenueRejected
from core.settings import Settings
from features.folding import FeatureFolder, fold_market_data
from market.fills import FILLED, INVALID_ORDER, failed_fill
from market.tokens import USDC, WSOL, initial_wallet
from models.signals import SignalModels, price_mark
from risk.apply import apply_record
from risk.limits import RiskLimits
from risk.state import RiskState
from streams.codec import decode_object, swap_from_object
from streams.event_order import EventTimeMerge
from streams.records import (
    PROGRESS_KEY,
    FeatureSnapshot,
    Fill,
    Launch,
    Order,
    Progress,
    Rejection,
    Signal,
)
from streams.topics import FILLS, RAW_LAUNCHES, RAW_PERPS, RAW_POOLS, RAW_QUOTES, RAW_SWAPS, SIGNALS
from streams.validate import PoolContinuity, check_event_time, check_launch, check_swap
from venues.paper.execution import PaperVenue

# Event time between two looks at the merge: the live agent looks once per batch, ~10 ms; per swap is waste.
MERGE_CHECK_MS = 5
MARKET_DATA = frozenset({RAW_QUOTES.name, RAW_PERPS.name, RAW_POOLS.name})  # market context for the fold
PROGRESS_KEY_TEXT = PROGRESS_KEY.decode()  # how a recording writes the key of a progress record
DEAD_LINES_KEPT = 20  # dead letters whose line and reason the result lists (all are counted)
EXIT_KINDS_STRATEGY = "risk"  # orders risk emits on its own (stop loss, breaker) are attributed here


class BacktestEngine:
    """One run's state: tables, models, risk state, venue, ledger. Feed it records with `run`."""

    def __init__(
        self,
        settings: Settings,
        *,
        seed: int = 0,
        keep_stages: bool = False,
        fill_model: FillModel | None = None,
    ) -> None:
        self.settings = settings
        self.fill_model = FillModel.from_settings(settings) if fill_model is None else fill_model
        self._immediate = self.fill_model.is_pipeline
        self.book = PoolBook()
        self._queue: list[tuple[int, int, Order]] = []  # (due ms, decision order, order), due order
        self._held: list[Signal] = []  # signals waiting for the queued orders' fills (the fill barrier)
        self._opened_ms = 0  # event time the barrier last opened (a held signal is decided then)
        # With keep_stages, every stage's output is kept (for the stage-by-stage equivalence tests).
        self.keep_stages = keep_stages
        self.snapshots: list[FeatureSnapshot] = []
        self.signals: list[Signal] = []
        self.decisions: list[Order | Rejection] = []
        self.fills: list[Fill] = []
        self.seed = seed
        # Nothing on the decision path draws random numbers today; seeding the global generators keeps a
        # future stochastic component (or a strategy that uses them) reproducible per seed.
        random.seed(seed)
        np.random.seed(seed % 2**32)
        self.interval_ms = settings.snapshot_interval_ms
        self.batch_events = settings.batch_max_events
        self.tables: dict[str, Any] = feature_tables(hops=False)  # snapshots never read hops
        self.models = SignalModels.from_settings(settings, seed=seed)
        # The risk limits of these settings (the agents' module-level ones are the worker's, read at import).
        self.limits = limits = RiskLimits.from_settings(settings)
        self.state = RiskState.initial(settings.portfolio, limits, WSOL, USDC)
        self.venue = PaperVenue()
        self.ledger = Ledger(
            balances=initial_wallet(settings.paper_start_usdc, settings.paper_start_sol),
            fallback_sol_usdc=limits.fallback_sol_usdc,
        )
        self.opening = dict(self.ledger.balances)  # held unchanged: the buy-and-hold benchmark
        self._signal_offset = -1
        self._fill_offset = -1
        self._strategy_of_signal: dict[str, str] = {}
        self.launches: dict[str, Launch] = {}
        self.pool_continuity = PoolContinuity()
        self.dead_letters = 0
        self.dead_letter_lines: list[tuple[int, str]] = []  # the first DEAD_LINES_KEPT: (line, reason)

    def _dead(self, rec: dict[str, Any], reason: str) -> None:
        """A record that does not decode or validate: counted, and its line kept (the first few)."""
        self.dead_letters += 1
        if len(self.dead_letter_lines) < DEAD_LINES_KEPT:
            self.dead_letter_lines.append((_int(rec.get("line")), reason))

    def _folder(self) -> FeatureFolder:
        return FeatureFolder(snapshot_interval_ms=self.interval_ms, **self.tables)

    def run(self, records: Iterable[dict[str, Any]]) -> BacktestResult:
        started = time.perf_counter()
        start_equity = self.ledger.equity_usdc()
        events = 0
        self._start_run(start_equity)
        folder = self._folder()
        in_batch = 0
        swaps_topic, launches_topic = RAW_SWAPS.name, RAW_LAUNCHES.name
        # The model agent's event-time merge, with event time standing in for its wall clock: the run
        # orders snapshots as a worker fed this recording at its own pace would (see the module docstring).
        merge: EventTimeMerge[FeatureSnapshot] = EventTimeMerge(
            self.settings.model_idle_partition_ms, self.settings.model_progress_idle_ms
        )
        clock: int | None = None
        next_check = -(2**62)
        skew_ms = round(self.settings.max_event_skew_s * 1000)
        for rec in records:
            events += 1
            topic = rec["topic"]
            if topic == swaps_topic:
                partition, offset = rec["partition"], rec["offset"]
                if rec.get("key") == PROGRESS_KEY_TEXT:
                    try:
                        ts_ms = decode_object(Progress, rec["value"]).ts_ms
                        check_event_time(ts_ms)
                    except DecodeError as exc:
                        self._dead(rec, str(exc))
                        continue
                    if clock is None:
                        merge.assign(list(range(self.settings.topic_partitions)), ts_ms)
                    clock = ts_ms if clock is None else max(clock, ts_ms)
                    merge.seen(partition, offset, clock, ts_ms, steady=True)
                else:
                    try:
                        swap = swap_from_object(rec["value"])
                        check_swap(swap, received_ms=_int(rec.get("timestamp_ms")), skew_ms=skew_ms)
                        self.pool_continuity.check(swap)
                    except DecodeError as exc:
                        self._dead(rec, str(exc))
                        continue
                    if clock is None:
                        merge.assign(list(range(self.settings.topic_partitions)), swap.ts_ms)
                    clock = swap.ts_ms if clock is None else max(clock, swap.ts_ms)
                    if not self._immediate:
                        if self._queue and self._queue[0][0] < clock:
                            self._release(clock)
                        self.book.observe(swap)
                    snap = folder.fold(swap, partition, offset, rec["timestamp_ms"])
                    in_batch += 1
                    if in_batch >= self.batch_events:
                        folder.flush()
                        folder = self._folder()
                        in_batch = 0
                    if snap is None:
                        merge.seen(partition, offset, clock, swap.ts_ms)
                    else:
                        merge.push(partition, offset, snap.ts_ms, snap.pair, snap.id, snap, clock)
                if merge.held and clock >= next_check:
                    next_check = clock + MERGE_CHECK_MS
                    for held in merge.pop_ready(clock):
                        self._score(held.item)
            elif topic == launches_topic:
                self._launch(rec)
            elif topic in MARKET_DATA:
                self._market_data(folder, rec, skew_ms)
            elif topic == DEAD_LINE:
                self._dead(rec, str(rec["reason"]))
            # other topics in a recording have no stage here
        for held in merge.pop_ready(2**62):  # the end of the recording: every partition is done
            self._score(held.item)
        self._release(None)  # orders still in flight fill on the last states seen
        folder.flush()
        return self._result(events, self.dead_letters, start_equity, started)

    def _start_run(self, start_equity: float) -> None:
        """The run's counters and curves, empty."""
        self._counts = {"snapshots": 0, "signals": 0, "rejections": 0}
        self._trades: list[TradeRecord] = []
        self._equity: list[tuple[int, float]] = []
        self._benchmark: list[tuple[int, float]] = []
        self._rejection_codes: dict[str, int] = {}
        self._last_bucket: int | None = None  # equity is sampled once per snapshot interval of event time
        self._last_equity = start_equity
        self._last_benchmark = start_equity

    def _market_data(self, folder: FeatureFolder, rec: dict[str, Any], skew_ms: int) -> None:
        """A Jupiter quote or Drift book: its pair's market context in the fold, as the features agent
        keeps it, or a dead letter."""
        reason = fold_market_data(folder, rec["topic"], RecordedMessage.of(rec), skew_ms)
        if reason is not None:
            self._dead(rec, reason)

    def _launch(self, rec: dict[str, Any]) -> None:
        """A `raw.launches` record: remembered for the launch strategy, or a dead letter."""
        try:
            launch = check_launch(decode_object(Launch, rec["value"]))
        except DecodeError as exc:
            self._dead(rec, str(exc))
            return
        self.launches[launch.mint] = launch

    def _result(self, events: int, dead: int, start_equity: float, started: float) -> BacktestResult:
        """The run's result, once every record is in (the last equity sample is taken here)."""
        if self._last_bucket is not None:
            self._sample(self._last_bucket * self.interval_ms)
        snapshots, signals, rejections = (self._counts[k] for k in ("snapshots", "signals", "rejections"))
        trades, equity, rejection_codes = self._trades, self._equity, self._rejection_codes
        return BacktestResult(
            seed=self.seed,
            events=events,
            dead_letters=dead,
            dead_letter_lines=list(self.dead_letter_lines),
            launches=len(self.launches),
            snapshots=snapshots,
            signals=signals,
            rejections=rejections,
            elapsed_s=time.perf_counter() - started,
            start_equity_usdc=start_equity,
            trades=trades,
            equity=equity,
            ledger=self.ledger,
            risk_state=self.state,
            models={pair: m.metrics() for pair, m in sorted(self.models.by_pair.items())},
            rejection_codes=dict(sorted(rejection_codes.items())),
            allocations=list(self.models.allocations),
            benchmark=self._benchmark,
            opening_wallet=self.opening,
            fill_model=self.fill_model.describe(),
        )

    def _sample(self, ts_ms: int) -> None:
        """One point of the equity curve and of the benchmark, at the same time and prices."""
        self._equity.append((ts_ms, self._last_equity))
        self._benchmark.append((ts_ms, self._last_benchmark))

    def _score(self, snap: FeatureSnapshot) -> None:
        """One snapshot, in merge order: models and strategies, then risk and the venue per signal."""
        if not self.models.is_new(snap):
            return
        self._counts["snapshots"] += 1
        if self.keep_stages:
            self.snapshots.append(snap)
        bucket = snap.ts_ms // self.interval_ms
        if self._last_bucket is not None and bucket != self._last_bucket:
            self._sample(self._last_bucket * self.interval_ms)
        self.ledger.learn(snap.pair, snap.price, snap.pools)
        signals = self.models.signals_for(snap)
        self._counts["signals"] += len(signals)
        # No strategy acted on it: the snapshot's price still reaches risk, whose stops hold on every price.
        for signal in signals or [price_mark(snap)]:
            if self._queue or self._held:
                self._held.append(signal)  # the fill barrier: decided once the orders before it fill
            else:
                self._handle(signal)
        self._last_bucket = bucket
        self._last_equity = self.ledger.equity_usdc()
        self._last_benchmark = self.ledger.value_usdc(self.opening)

    def _handle(self, signal: Signal) -> None:
        """Decide one signal; fill its orders at once (pipeline) or queue them for their latency."""
        for decision in self._decide(signal):
            if isinstance(decision, Rejection):
                self._counts["rejections"] += 1
                code = decision.reason.partition(":")[0]
                self._rejection_codes[code] = self._rejection_codes.get(code, 0) + 1
            elif self._immediate:
                self._trades.append(self._execute(decision, decision.ts_ms))
            else:
                due = max(decision.ts_ms, self._opened_ms) + self.fill_model.latency_ms
                self._queue.append((due, len(self._trades) + len(self._queue), decision))
                self._queue.sort(key=lambda q: (q[0], q[1]))

    def _release(self, now_ms: int | None) -> None:
        """Fill every queued order due before `now_ms` (None: all), then decide the signals that waited
        for them, which may queue more."""
        while True:
            while self._queue and (now_ms is None or self._queue[0][0] < now_ms):
                due, _, order = self._queue.pop(0)
                self._opened_ms = max(self._opened_ms, due)
                self._trades.append(self._execute(order, due))
            if self._queue or not self._held:
                return
            self._handle(self._held.pop(0))

    def _decide(self, signal: Signal) -> list[Order | Rejection]:
        """The risk agent's step for one signal; the strategy is remembered for attribution."""
        self._signal_offset += 1
        self._strategy_of_signal[signal.id] = signal.strategy
        decisions = apply_record(
            self.state, SIGNALS.name, 0, self._signal_offset, signal, signal.ts_ms, self.limits
        )
        if self.keep_stages:
            self.signals.append(signal)
            self.decisions.extend(decisions)
        return decisions

    def _execute(self, order: Order, now_ms: int) -> TradeRecord:
        """Fill on the paper venue under the fill model, book it, and hand the fill back to risk."""
        state, taken = order.pool_state, 0
        try:
            done = execute(self.fill_model, self.book, self.venue, order, self.ledger.balances, now_ms)
            fill, state, taken = done.fill, done.fill_state, done.sandwich_out
        except VenueRejected:
            fill = failed_fill(order, now_ms, INVALID_ORDER)
        position = self.ledger.positions.get(order.pair)
        realised_before = position.realised_pnl_quote if position is not None else 0
        self.ledger.book(order, fill)
        self._fill_offset += 1
        if self.keep_stages:
            self.fills.append(fill)
        apply_record(self.state, FILLS.name, 0, self._fill_offset, fill, now_ms, self.limits)
        s = order.pool_state
        quote_usdc = self.ledger.usdc_per_raw(s.quote_mint, s.quote_decimals)
        realised = 0
        if fill.status == FILLED:
            realised = self.ledger.positions[order.pair].realised_pnl_quote - realised_before
        out_usdc = (
            self.ledger.usdc_per_raw(s.base_mint, s.base_decimals) if order.side == "buy" else quote_usdc
        )
        return TradeRecord(
            order=order,
            fill=fill,
            strategy=self._strategy_of_signal.get(order.signal_id, EXIT_KINDS_STRATEGY),
            notional_usdc=fill.quote_amount * quote_usdc,
            fee_usdc=fill.fee_quote * quote_usdc,
            realised_usdc=realised * quote_usdc,
            fill_state=state,
            network_fee_usdc=fill.network_fee_lamports * self.ledger.usdc_per_raw(WSOL, 9),
            sandwich_usdc=taken * out_usdc,
        )


def _int(value: Any) -> int:
    """A record's optional integer field (its line, its broker time), 0 when absent or not an integer."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def run_file(
    path: Any, settings: Settings, *, seed: int = 0, fill_model: FillModel | None = None
) -> BacktestResult:
    """Backtest a recording file (timed from the first line read to the last decision); `fill_model`
    None: the settings' honest one."""
    from backtest.recording import read_records

    started = time.perf_counter()
    result = BacktestEngine(settings, seed=seed, fill_model=fill_model).run(read_records(path, numbered=True))
    result.elapsed_s = time.perf_counter() - started
    return result


def run_backtest(sample: Any, params: dict[str, Any], *, seed: int = 1) -> dict[str, Any]:
    """The web API's "Test": backtest risk parameters on a recording; returns the JSON summary.

    `max_position_pct`, `stop_loss_pct` and `take_profit_pct` in `params` override the current settings
    for this run only; other parameters are not used by the backtest yet.
    """
    from backtest.report import summarise
    from core.config import get_settings

    risk_keys = ("max_position_pct", "stop_loss_pct", "take_profit_pct")
    overrides: dict[str, Any] = {key: params[key] for key in risk_keys if key in params}
    settings = get_settings().model_copy(update=overrides)
    result = run_file(sample, settings, seed=seed)
    return summarise(result, interval_ms=settings.snapshot_interval_ms)
