"""The features stage without I/O: raw swaps folded into windowed bars, snapshots at an event-time cadence.

Carrying decisions, not raw events: one snapshot per pair per `snapshot_interval_ms` of event time goes
downstream, however many swaps arrive. A snapshot is taken at the first swap of a new interval and
includes it, so the snapshots (and everything after them) do not depend on how events were batched.

The fold reads and writes its tables through batch views (`tables.batch_view`): the features agent hands it
Faust's windowed tables, the backtest in-memory ones; both key bars by the windows below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.errors import DecodeError
from features.market_signals import market_features, newer, perp_context, perp_pair, quote_context
from features.maths import (
    BAR_MS,
    BARS_1S,
    HOP_10S_MS,
    HOP_60S_MS,
    Trade,
    compute_features,
    hop_bar,
    pair_price,
    pool_dict_from_swap,
    trade_from_swap,
)
from streams.codec import RawSwap, decode, decode_swap
from streams.records import PROGRESS_KEY, FeatureSnapshot, JupiterQuote, PerpBook, PoolState, Progress, Swap
from streams.topics import RAW_PERPS, RAW_POOLS, RAW_QUOTES, RAW_SWAPS
from streams.validate import (
    DEFAULT_SKEW_MS,
    PoolContinuity,
    check_market_record,
    check_pool_update,
    check_swap,
)
from tables.batch_view import BatchView, ChangelogTable
from tables.windows import BARS_1S_WINDOW, BARS_10S_WINDOW, BARS_60S_WINDOW, Bar, WindowSpec, merge_bars


@dataclass
class PairState:
    """What the features agent remembers per pair besides its bars."""

    offsets: dict[str, int] = field(default_factory=dict)  # raw partition -> last applied offset
    bucket: int = -1  # last snapshot bucket (ts_ms // snapshot_interval_ms)
    second_ms: int = -1  # start of the latest second with a trade: the hopping tables hold the steps before
    last_price: float = 0.0  # the last trade's price: the fallback when no pool has a price
    pools: dict[str, dict[str, Any]] = field(default_factory=dict)
    market: dict[str, dict[str, Any]] = field(default_factory=dict)  # latest "quote" and "perp" contexts

    def to_dict(self) -> dict[str, Any]:
        out = {
            "offsets": self.offsets,
            "bucket": self.bucket,
            "last_price": self.last_price,
            "pools": self.pools,
            "second_ms": self.second_ms,
        }
        if self.market:  # absent without market data: the state written is the one before it existed
            out["market"] = self.market
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PairState:
        return cls(
            offsets=dict(d.get("offsets", {})),
            bucket=int(d.get("bucket", -1)),
            last_price=float(d.get("last_price", 0.0)),
            pools=dict(d.get("pools", {})),
            second_ms=int(d.get("second_ms", -1)),
            market=dict(d.get("market", {})),
        )


class WindowedBars:
    """The bars of one windowed table for one batch, keyed as Faust keys them: (pair, (start, end))."""

    def __init__(self, table: ChangelogTable, window: WindowSpec) -> None:
        self.window = window
        self.view: BatchView[Bar] = BatchView(table, load=Bar.from_dict, dump=Bar.to_dict)
        self._ranges: dict[int, list[tuple[float, float]]] = {}

    def ranges(self, ts_ms: int) -> list[tuple[float, float]]:
        second = ts_ms // 1000  # whole-second windows: the ranges depend only on the second
        got = self._ranges.get(second)
        if got is None:
            got = self._ranges_of(second)
        return got

    def _ranges_of(self, second: int) -> list[tuple[float, float]]:
        got = self.window.ranges(float(second))
        self._ranges[second] = got
        return got

    def add(self, pair: str, partition: int, trade: Trade, offset: int = -1) -> None:
        """Fold one trade into its windows; a window that already holds `offset` (>= 0) keeps its bar."""
        second = trade.ts_ms // 1000  # `ranges`, inlined: this runs once per swap
        view = self.view
        for rng in self._ranges.get(second) or self._ranges_of(second):
            key = (pair, rng)
            bar = view.get(key)
            if bar is None:
                bar = Bar()
            elif 0 <= offset <= bar.offset:
                continue  # counted before a crash; the pair's state, which would have said so, was not
            bar.add(*trade)
            bar.offset = offset
            view.put(key, bar, partition)

    def add_bar(self, pair: str, partition: int, ts_ms: int, delta: Bar) -> None:
        """Merge a batch's trades of one step (all in the same windows as `ts_ms`) into those windows."""
        for rng in self.ranges(ts_ms):
            key = (pair, rng)
            bar = self.view.get(key)
            if bar is None:
                bar = Bar()
            bar.absorb(delta)
            self.view.put(key, bar, partition)

    def history(self, pair: str, ts_ms: int, count: int) -> list[Bar | None]:
        """The last `count` tumbling bars up to ts, oldest first (None for seconds without trades)."""
        second = ts_ms // 1000
        ranges, get = self._ranges, self.view.get
        return [
            get((pair, (ranges.get(s) or self._ranges_of(s))[0]))
            for s in range(second - count + 1, second + 1)
        ]


class FeatureFolder:
    """Folds one batch of raw swaps into the tables and returns the snapshots it must publish.

    A swap updates one bar: its one-second bar. Snapshots merge the hopping-window bars from the
    one-second bars (`hop_bar`). The hopping tables stay the durable, expiring record of those windows:
    when a pair's event time leaves a step (2 s, 10 s), that step's one-second bars are merged into every
    window containing it, once, so a window's table value covers its closed steps (a trade arriving after
    its step closed is in the one-second bars and the snapshots, not in these tables). Nothing reads them
    back, so a run that needs no durable record (the backtest) passes None for them.
    """

    def __init__(
        self,
        *,
        bars_1s: ChangelogTable,
        bars_10s: ChangelogTable | None,
        bars_60s: ChangelogTable | None,
        state_table: ChangelogTable,
        snapshot_interval_ms: int,
    ) -> None:
        self.bars_1s = WindowedBars(bars_1s, BARS_1S_WINDOW)
        self.hops = [
            (WindowedBars(table, window), window_ms[1])
            for table, window, window_ms in (
                (bars_10s, BARS_10S_WINDOW, HOP_10S_MS),
                (bars_60s, BARS_60S_WINDOW, HOP_60S_MS),
            )
            if table is not None
        ]
        self.states: BatchView[PairState] = BatchView(
            state_table, load=PairState.from_dict, dump=PairState.to_dict
        )
        self.interval_ms = snapshot_interval_ms

    def fold(
        self, swap: Swap | RawSwap, partition: int, offset: int, origin_ms: int
    ) -> FeatureSnapshot | None:
        """Apply one swap (skipping a re-delivered one) and return a snapshot if it opens a new interval."""
        pair = swap.pair
        state = self.states.get(pair) or PairState()
        part_key = str(partition)
        if offset <= state.offsets.get(part_key, -1):
            return None  # already applied before a restart: idempotent
        trade = trade_from_swap(swap)
        if trade is None:
            return None
        self.bars_1s.add(pair, partition, trade, offset)
        second_ms = trade.ts_ms - trade.ts_ms % BAR_MS
        if second_ms > state.second_ms:
            if self.hops and state.second_ms >= 0:
                self._close_steps(pair, partition, state.second_ms, second_ms)
            state.second_ms = second_ms
        known = state.pools.get(swap.pool)
        if known is None or swap.ts_ms >= int(known.get("ts_ms", 0)):
            state.pools[swap.pool] = pool_dict_from_swap(swap)
        state.last_price = trade.price
        state.offsets[part_key] = offset
        snapshot = None
        bucket = swap.ts_ms // self.interval_ms
        if bucket > state.bucket:
            state.bucket = bucket
            snapshot = self._snapshot(pair, state, swap.ts_ms, origin_ms, partition, offset)
        self.states.put(pair, state, partition)
        return snapshot

    def _snapshot(
        self, pair: str, state: PairState, ts_ms: int, origin_ms: int, partition: int, offset: int
    ) -> FeatureSnapshot:
        pools = [PoolState(**p) for p in state.pools.values()]
        price = pair_price(pools, fallback=state.last_price)
        history = self.bars_1s.history(pair, ts_ms, BARS_1S)
        features = compute_features(
            price, history, hop_bar(history, ts_ms, *HOP_10S_MS), hop_bar(history, ts_ms, *HOP_60S_MS), pools
        )
        if state.market:
            features.update(market_features(state.market, price, ts_ms, pools))
        bucket_ms = (ts_ms // self.interval_ms) * self.interval_ms
        return FeatureSnapshot(
            id=f"{pair}@{bucket_ms}",
            pair=pair,
            ts_ms=ts_ms,
            origin_ms=origin_ms,
            price=price,
            features=features,
            pools=pools,
            source_partition=partition,
            source_offset=offset,
        )

    def note_market(self, pair: str, kind: str, context: dict[str, Any] | None, partition: int) -> str | None:
        """Keep the newest quote or perp book (`kind`) of `pair` for its next snapshots; the reason when it
        came on another partition than the pair's swaps (a topic with fewer partitions than raw.swaps)."""
        state = self.states.get(pair) or PairState()
        if (elsewhere := _elsewhere(state, pair, partition)) is not None:
            return elsewhere
        if newer(state.market.get(kind), context):
            assert context is not None
            state.market[kind] = context
            self.states.put(pair, state, partition)
        return None

    def note_pool(self, pair: str, update: PoolState, partition: int) -> str | None:
        """A followed pool's account state (raw.pools) replaces what the pair's last swap on that pool
        said, when it is at least as recent (its slot; an account's state is the end of its slot): a
        deposit, a withdrawal, a swap no log showed or a completed curve reach the next snapshot. A pool
        the pair's swaps never named is not added (its sides and pair are unproven). The reason when it
        came on another partition than the pair's swaps."""
        state = self.states.get(pair)
        if state is None:
            return None  # keyed by a pool address (no swap named its pair yet), or a pair not held here
        if (elsewhere := _elsewhere(state, pair, partition)) is not None:
            return elsewhere
        known = state.pools.get(update.pool)
        stale = known is None or update.slot < int(known.get("slot", 0))
        if stale or min(update.base_reserve, update.quote_reserve) <= 0:
            return None  # unknown here, older than the pool's last swap, or no reserves stated
        assert known is not None
        if (update.base_mint, update.quote_mint) != (known["base_mint"], known["quote_mint"]):
            return f"pool: {update.pool} trades {known['base_mint']}/{known['quote_mint']} in {pair}'s swaps"
        known.update(
            base_reserve=update.base_reserve,
            quote_reserve=update.quote_reserve,
            real_base_reserve=update.real_base_reserve,
            real_quote_reserve=update.real_quote_reserve,
            complete=update.complete,
            slot=update.slot,
            ts_ms=max(int(known.get("ts_ms", 0)), update.ts_ms),
        )
        self.states.put(pair, state, partition)
        return None

    def _close_steps(self, pair: str, partition: int, last_ms: int, now_ms: int) -> None:
        """Event time moved from the second `last_ms` to `now_ms`: write the step it closed, if any."""
        for bars, step_ms in self.hops:
            closed = last_ms - last_ms % step_ms
            if now_ms - now_ms % step_ms == closed:
                continue
            seconds = self.bars_1s.history(pair, closed + step_ms - BAR_MS, step_ms // BAR_MS)
            merged = merge_bars(seconds)
            if merged is not None:
                bars.add_bar(pair, partition, closed, merged)

    def flush(self) -> None:
        self.bars_1s.view.flush()
        for bars, _ in self.hops:
            bars.view.flush()
        self.states.flush()


class ProgressMarks:
    """Per raw partition, the newest event time read and the last one announced on `features`.

    `due()` names the partitions whose event time moved at least `step_ms` past the last announcement: one
    small record per partition per step, however many swaps (see `streams.records.Progress`). A source's
    own progress record is passed on at once, however small the step: the source paces those itself, and
    its last one (the end of a stream) must not wait for a step that never comes.
    """

    def __init__(self, step_ms: int) -> None:
        self.step_ms = step_ms
        self.read: dict[int, int] = {}
        self.announced: dict[int, int] = {}
        self.steady: set[int] = set()  # raw partitions whose source sends progress records
        self._from_source: set[int] = set()  # partitions whose newest mark came from a source's record

    def saw(self, partition: int, ts_ms: int, *, from_source: bool = False) -> None:
        if from_source:
            self.steady.add(partition)
        if ts_ms > self.read.get(partition, -(2**62)):
            self.read[partition] = ts_ms
            if from_source:
                self._from_source.add(partition)

    def due(self) -> list[Progress]:
        out = []
        for partition, ts in self.read.items():
            moved = ts - self.announced.get(partition, -(2**62))
            if moved >= self.step_ms or (moved > 0 and partition in self._from_source):
                self.announced[partition] = ts
                out.append(Progress(source_partition=partition, ts_ms=ts, steady=partition in self.steady))
        self._from_source.clear()
        return out


class RawMessage(Protocol):
    """The parts of a consumed record the fold reads (a Faust message has them)."""

    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def timestamp(self) -> float: ...  # seconds, as Faust gives it

    # A Faust message also has `topic`; the fold takes a record without one for a raw swap.


def _elsewhere(state: PairState, pair: str, partition: int) -> str | None:
    """The reason a record of `pair`'s market context came on another partition than its swaps (a topic
    with fewer partitions than raw.swaps): the pair's state is not there."""
    if state.offsets and str(partition) not in state.offsets:
        return f"partition: {pair}'s swaps are on partition {min(state.offsets)}, not {partition}"
    return None


@dataclass
class FoldedBatch:
    """What one batch of raw records yields: snapshots, then progress records; and the undecodable ones."""

    snapshots: list[FeatureSnapshot]
    progress: list[Progress]
    dead: list[tuple[int, str]]  # (index in the batch, reason)


def fold_batch(
    folder: FeatureFolder,
    marks: ProgressMarks,
    messages: Sequence[RawMessage],
    *,
    pools: PoolContinuity | None = None,
    skew_ms: int = DEFAULT_SKEW_MS,
) -> FoldedBatch:
    """Decode, validate and fold one batch of `raw.swaps` records (the features agent's step, without I/O).

    A source's progress record carries no swap but moves its partition's event time on; a record that
    does not decode or validate (`check_swap` against its broker time, and `pools`' memory of each pool's
    previous state) is reported in `dead` and changes nothing.
    """
    snapshots: list[FeatureSnapshot] = []
    dead: list[tuple[int, str]] = []
    for i, msg in enumerate(messages):
        topic = getattr(msg, "topic", RAW_SWAPS.name)
        if topic != RAW_SWAPS.name:
            reason = fold_market_data(folder, topic, msg, skew_ms)
            if reason is not None:
                dead.append((i, reason))
            continue
        if msg.key == PROGRESS_KEY:
            try:
                marks.saw(msg.partition, decode(Progress, msg.value).ts_ms, from_source=True)
            except DecodeError as exc:
                dead.append((i, str(exc)))
            continue
        try:
            swap = check_swap(decode_swap(msg.value), received_ms=int(msg.timestamp * 1000), skew_ms=skew_ms)
            if pools is not None:
                pools.check(swap)
        except DecodeError as exc:
            dead.append((i, str(exc)))
            continue
        snap = folder.fold(swap, msg.partition, msg.offset, int(msg.timestamp * 1000))
        if snap is not None:
            snapshots.append(snap)
        marks.saw(msg.partition, swap.ts_ms)
    return FoldedBatch(snapshots, marks.due(), dead)


def fold_market_data(folder: FeatureFolder, topic: str, msg: RawMessage, skew_ms: int) -> str | None:
    """A Jupiter quote or Drift book kept as its pair's market context; the reason when it does not decode."""
    at = int(msg.timestamp * 1000)
    try:
        if topic == RAW_QUOTES.name:
            quote = check_market_record(decode(JupiterQuote, msg.value), received_ms=at, skew_ms=skew_ms)
            pair, kind, context = quote.pair, "quote", quote_context(quote)
        elif topic == RAW_PERPS.name:
            book = check_market_record(decode(PerpBook, msg.value), received_ms=at, skew_ms=skew_ms)
            pair, kind, context = perp_pair(book.market), "perp", perp_context(book)
        elif topic == RAW_POOLS.name:
            update = check_pool_update(decode(PoolState, msg.value), received_ms=at, skew_ms=skew_ms)
            key = msg.key.decode("utf-8", "replace") if msg.key else ""
            return folder.note_pool(key, update, msg.partition)
        else:
            return f"the features stage reads no topic {topic!r}"
    except DecodeError as exc:
        return str(exc)
    if msg.key != pair.encode():  # on another partition than the pair's swaps: its state is not here
        return f"key: {topic} records are keyed by their pair ({pair!r}), got {msg.key!r}"
    return folder.note_market(pair, kind, context, msg.partition)
