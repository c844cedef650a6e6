"""The agents' runners without a broker: each built on a context of fakes and fed Faust-shaped events."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from typing import Any

import orjson
from agent_fakes import Event, context, events
from faust.types import TP
from prometheus_client import REGISTRY

from agents.features import FeaturesRunner
from agents.launches import LaunchesRunner
from agents.model import ModelRunner
from backtest.memory_tables import feature_tables
from core.settings import Settings, load_settings
from features.folding import FeatureFolder, ProgressMarks, fold_batch
from market.simulator import MarketSimulator
from models.signals import SignalModels, price_mark
from streams.codec import decode, encode
from streams.compat import Compat
from streams.compat.seeks import ResumeAfter, ResumeAt, ResumeHooks, SeekGuard
from streams.records import PROGRESS_KEY, FeatureSnapshot, Launch, Progress, Signal, Swap


def settings() -> Settings:
    return load_settings(  # thresholds low enough that a short market trades (as the integration tests')
        database_url=None,
        redis_url=None,
        snapshot_interval_ms=250,
        label_horizon_ms=2000,
        model_warmup_labels=10,
        strategy_cost_bps=2,
        min_confidence=0.5,
    )


def market(n: int) -> list[Swap]:
    sim = MarketSimulator(
        seed=3, pairs=("SOL/USDC",), rate_eps=200.0, start_ms=1_700_000_000_000, launches=False
    )
    out = []
    for event in sim.events():
        if isinstance(event, Swap):
            out.append(event)
            if len(out) == n:
                break
    return out


async def test_the_features_runner_publishes_the_folds_snapshots_then_progress_and_dead_letters() -> None:
    s = settings()
    ctx = context(s)
    runner = FeaturesRunner(ctx)
    swaps = market(600)
    batch = events("raw.swaps", 0, [(b"SOL/USDC", encode(w)) for w in swaps] + [(b"SOL/USDC", b"{bad")])
    await runner.process(batch)
    expected = fold_batch(
        FeatureFolder(snapshot_interval_ms=s.snapshot_interval_ms, **feature_tables()),
        ProgressMarks(s.features_progress_ms),
        [e.message for e in batch],
    )
    sent = ctx.topics.features_topic.sent  # type: ignore[attr-defined]
    snapshots = [decode(FeatureSnapshot, v) for k, v, _ in sent if k != PROGRESS_KEY]
    assert [x.id for x in snapshots] == [x.id for x in expected.snapshots] and snapshots
    assert [x.features for x in snapshots] == [x.features for x in expected.snapshots]
    progress = [(decode(Progress, v), p) for k, v, p in sent if k == PROGRESS_KEY]
    assert [(x.ts_ms, p) for x, p in progress] == [(x.ts_ms, 0) for x in expected.progress]
    assert [k for k, _, _ in sent].index(PROGRESS_KEY) == len(snapshots)  # after the snapshots
    letters = ctx.app.producer.sent  # type: ignore[attr-defined]
    assert [(t, orjson.loads(v)["offset"]) for t, _, v in letters] == [("dlq.raw", 600)]
    tables = ctx.tables
    assert tables.pair_to_feature_state.changelog == [(0, "SOL/USDC")]  # type: ignore[attr-defined]
    assert tables.pair_to_bar_1s.ttls  # type: ignore[attr-defined]  # windowed keys expire


class RawLog:
    """One raw partition as the worker's consumer fetches it: from its position, five records at a time,
    through the seek guard (attached by the test)."""

    def __init__(self, messages: list[Any], committed: int) -> None:
        self.tp = TP(messages[0].topic, messages[0].partition)
        self.messages = {m.offset: m for m in messages}
        self.position = {self.tp: committed}
        self._committed_offset = {self.tp: committed}
        self._read_offset: dict[TP, int | None] = {}
        self.sought: list[int] = []

    def assignment(self) -> set[TP]:
        return {self.tp}

    def _is_changelog_tp(self, tp: TP) -> bool:
        return False

    async def seek(self, tp: TP, offset: int) -> None:
        self.position[tp] = offset
        self.sought.append(offset)

    async def _getmany(self, active: Any, timeout: float) -> dict[TP, list[Any]]:  # noqa: ASYNC109 - Faust's signature
        at = max(self.position[self.tp], min(self.messages))  # Kafka: a fetch below the log starts at it
        batch = [self.messages[o] for o in range(at, at + 5) if o in self.messages]
        self.position[self.tp] = at + 5
        return {self.tp: batch}

    async def getmany(self, timeout: float) -> Any:  # noqa: ASYNC109 - Faust's signature
        for tp, batch in (await self._getmany(None, timeout)).items():
            for message in batch:
                yield tp, message

    async def perform_seek(self) -> None: ...

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None: ...

    async def on_partitions_revoked(self, revoked: set[TP]) -> None: ...


async def fetched(consumer: RawLog) -> list[Any]:
    return [Event(message) for _, message in [x async for x in consumer.getmany(timeout=1.0)]]


def raw_partition(first: int, last: int, committed: int) -> tuple[FeaturesRunner, RawLog, list[Any]]:
    swaps = [(b"SOL/USDC", encode(w)) for w in market(last - first + 1)]
    log_events = events("raw.swaps", 0, swaps, start=first)
    consumer = RawLog([e.message for e in log_events], committed)
    guard = SeekGuard(ResumeHooks(), contiguous=["raw.swaps"])
    guard.attach(consumer)
    ctx = context(settings())
    ctx.app.consumer = consumer  # type: ignore[assignment]
    ctx = dataclasses.replace(ctx, compat=Compat("kafka", ctx.app, guard=guard))
    return FeaturesRunner(ctx), consumer, log_events


async def test_records_past_a_hole_are_held_and_the_partition_read_again_from_it(caplog: Any) -> None:
    """On a Kafka-API broker every raw offset holds a record: a batch past the committed offset, or past
    the record before it, sends the partition back to the first record missing; what came after it is
    neither applied nor acknowledged until the missing records come, in order."""
    runner, consumer, log_events = raw_partition(100, 139, committed=100)
    before = _holes()
    assert await runner.in_order(log_events[:10]) == log_events[:10]  # from the committed offset
    with caplog.at_level(logging.WARNING, logger="agents.features"):
        past = log_events[13:20]  # 110..112 never came
        assert await runner.in_order(past) == []
    assert consumer.sought == [110] and all(e.message.acked for e in past)  # withheld: not committed
    assert _said(caplog, "agents.features") == [
        "records 110..112 of raw.swaps/0 did not reach the features agent: read again"
    ]
    early = log_events[20:22]  # fetched before the seek back
    assert await runner.in_order(early) == []
    again = await fetched(consumer) + await fetched(consumer)
    assert [e.message.offset for e in again] == list(range(110, 120))
    assert await runner.in_order(again) == again
    assert _holes() == before


async def test_a_hole_the_log_no_longer_holds_is_counted_once_and_passed_over(caplog: Any) -> None:
    runner, consumer, log_events = raw_partition(100, 139, committed=100)
    before = _holes()
    await runner.in_order(log_events[:5])
    await runner.in_order(log_events[10:12])  # 105..109 never came: sought back to 105
    for offset in range(100, 110):
        del consumer.messages[offset]  # retention: the log starts at 110 now
    again: list[Any] = []
    for _ in range(5):  # the guard seeks back once more itself, then passes over what is gone
        again = again or await fetched(consumer)
    assert [e.message.offset for e in again] == list(range(110, 115))
    assert await runner.in_order(again) == again
    assert _said(caplog, "agents.features", logging.ERROR) == [
        "records 105..109 of raw.swaps/0 never reached the features agent: the log no longer holds them"
    ]
    assert _holes() - before == 5


async def test_a_seek_back_that_fails_leaves_the_hole_to_the_partition_s_next_owner(caplog: Any) -> None:
    """aiokafka refuses a seek of a partition revoked a moment before: the records stay held, the agent
    goes on."""
    runner, consumer, log_events = raw_partition(100, 119, committed=100)

    async def revoked(tp: TP, offset: int) -> None:
        raise RuntimeError("No current assignment for partition")  # aiokafka's IllegalStateError

    consumer.seek = revoked  # type: ignore[method-assign]
    await runner.in_order(log_events[:5])
    assert await runner.in_order(log_events[8:12]) == []
    assert await runner.in_order(log_events[12:14]) == []  # still held
    assert _said(caplog, "agents.features")[-1].endswith("left to the partition's next owner")


async def test_a_hole_in_a_partition_no_longer_assigned_is_left_to_its_next_owner(caplog: Any) -> None:
    ctx = dataclasses.replace(context(settings()), compat=Compat("kafka"))  # no guard: nothing assigned
    ctx.app.consumer._committed_offset = {TP("raw.swaps", 0): 100}  # type: ignore[attr-defined]
    runner = FeaturesRunner(ctx)
    swaps = [(b"SOL/USDC", encode(w)) for w in market(30)]
    assert len(await runner.in_order(events("raw.swaps", 0, swaps[:10], start=100))) == 10
    with caplog.at_level(logging.WARNING, logger="agents.features"):
        assert await runner.in_order(events("raw.swaps", 0, swaps[10:20], start=113)) == []
        assert await runner.in_order(events("raw.swaps", 0, swaps[20:], start=123)) == []  # still held
    assert _said(caplog, "agents.features") == [
        "records 110..112 of raw.swaps/0 did not reach the features agent: left to the partition's next owner"
    ]
    stale = events("raw.swaps", 1, swaps[:5], start=500)
    for event in stale:
        event.message.generation_id = 1  # type: ignore[attr-defined]  # fetched before a rebalance
    ctx.app.consumer_generation_id = 2  # type: ignore[attr-defined]
    assert await runner.in_order(stale) == stale  # not judged: Faust's stream skips them


async def test_the_features_runner_does_not_judge_offsets_on_tansu() -> None:
    ctx = context(settings())  # Tansu: its offsets are its own
    runner = FeaturesRunner(ctx)
    swaps = [(b"SOL/USDC", encode(w)) for w in market(20)]
    before = _holes()
    await runner.process(events("raw.swaps", 0, swaps[:10]))
    await runner.process(events("raw.swaps", 0, swaps[10:], start=50))
    assert _holes() == before and not runner.contiguity.topics


def _said(caplog: Any, logger: str, level: int = logging.WARNING) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and r.levelno >= level]


def _holes() -> float:
    return REGISTRY.get_sample_value("solbot_input_holes_records_total", {"topic": "raw.swaps"}) or 0.0


async def test_the_launches_runner_keeps_valid_launches_and_dead_letters_the_rest() -> None:
    ctx = context(settings())
    launch = Launch(
        mint="M1",
        bonding_curve="C1",
        name="n",
        symbol="S",
        creator="K",
        virtual_base_reserve=10,
        virtual_quote_reserve=10,
        real_base_reserve=5,
        total_supply=100,
        slot=1,
        ts_ms=1,
        received_ms=1,
        signature="sig",
    )
    bad = Launch(**{**launch.asdict(), "mint": "M2", "virtual_base_reserve": 0})
    await LaunchesRunner(ctx).process(
        events("raw.launches", 2, [(b"M1", encode(launch)), (b"M2", encode(bad))])
    )
    table = ctx.tables.mint_to_launch
    assert list(table.data) == ["M1"] and table.changelog == [(2, "M1")]  # type: ignore[attr-defined]
    assert [t for t, _, _ in ctx.app.producer.sent] == []  # type: ignore[attr-defined]  # per-event letters
    assert [orjson.loads(v)["offset"] for _, v, _ in ctx.topics.dlq_raw_topic.sent] == [1]  # type: ignore[attr-defined]


def snapshots_of(swaps: list[Swap], interval_ms: int) -> list[FeatureSnapshot]:
    return fold_batch(
        FeatureFolder(snapshot_interval_ms=interval_ms, **feature_tables()),
        ProgressMarks(20),
        [m.message for m in events("raw.swaps", 0, [(b"SOL/USDC", encode(w)) for w in swaps])],
    ).snapshots


async def test_the_model_runner_scores_snapshots_as_the_model_step_does_and_skips_what_it_applied() -> None:
    s = settings()
    ctx = context(s)
    runner = ModelRunner(ctx)
    snaps = snapshots_of(market(4000), s.snapshot_interval_ms)
    batch = events("features", 1, [(x.pair.encode(), encode(x)) for x in snaps])
    await runner.process(batch[:30])
    await runner.process(batch[20:])  # re-delivered 20..29: applied once
    assert runner.merge.held == 1  # the newest snapshot waits for the partition to move past it
    await runner.release(10**15)  # until the partition counts as idle
    expected = SignalModels.from_settings(s)
    # a snapshot no strategy acted on goes to risk as its price mark (stops on every price)
    want = []
    for x in snaps:
        for sig in expected.signals_for(x) or [price_mark(x)]:
            sig.source_partition = 1  # risk merges every features partition's signals on it
            want.append(encode(sig))
    sent = ctx.topics.signals_topic.sent  # type: ignore[attr-defined]
    got = [v for k, v, _ in sent if k != PROGRESS_KEY]
    assert got == want and want, "the runner's signals are the model step's, once each"
    assert all(k == s.portfolio.encode() for k, _, _ in sent if k != PROGRESS_KEY)
    # after its signals, each release says how far the partition has gone out, for risk's merge
    progress = [decode(Progress, v) for k, v, _ in sent if k == PROGRESS_KEY]
    assert progress and {p.source_partition for p in progress} == {1}
    marks = [p.ts_ms for p in progress]
    assert marks == sorted(set(marks)) and marks[-1] == snaps[-1].ts_ms
    promised = -1  # a progress record promises that no later signal of the partition is older
    for k, v, _ in sent:
        if k == PROGRESS_KEY:
            promised = decode(Progress, v).ts_ms
        else:
            assert decode(Signal, v).ts_ms >= promised
    assert runner.applied == {1: len(snaps) - 1}
    assert any(decode(Signal, v).id.startswith("sig:") for v in got)


async def test_the_model_resume_hook_keeps_held_partitions_and_reads_new_ones_from_their_start() -> None:
    ctx = context(settings())
    runner = ModelRunner(ctx)
    runner.applied[0] = 41
    points = await runner.resume_points([TP("features", 0), TP("features", 1)], {})
    assert points == {TP("features", 0): ResumeAfter(41), TP("features", 1): ResumeAt(0)}  # no database


async def test_a_resume_during_a_database_restart_waits_for_the_checkpoint(monkeypatch: Any) -> None:
    """`make chaos`: a worker given features partitions while Postgres restarted crashed in its recovery
    (`cannot open a Postgres pool`) and was restarted; it now waits for the database."""
    import agents.model
    from core.errors import ServiceError

    ctx = context(settings().model_copy(update={"database_url": "postgresql://127.0.0.1:1/solbot"}))
    runner = ModelRunner(ctx)
    tries: list[int] = []

    class Pool:
        def acquire(self) -> Any:
            return contextlib.nullcontext(None)

    async def pool(name: str, *, max_size: int = 5) -> Any:
        tries.append(1)
        if len(tries) < 3:
            raise ServiceError("cannot open a Postgres pool: [Errno 111] Connection refused")
        return Pool()

    async def no_checkpoint(conn: Any, key: str, sealer: Any) -> None:
        return None

    monkeypatch.setattr(ctx.connections, "pool", pool)
    monkeypatch.setattr(agents.model, "load_partition", no_checkpoint)
    assert await runner.resume_points([TP("features", 2)], {}) == {TP("features", 2): ResumeAt(0)}
    assert len(tries) == 3


async def test_a_partition_restored_after_a_late_batch_replays_its_pairs_from_the_checkpoint() -> None:
    """`make chaos`: a fence revoked features partition 0 while a batch was being scored; the batch went on
    stepping a new launch the revocation had forgotten, so after the partition came back (checkpoint older
    than the launch) its replayed snapshots counted as scored and 54 s of its signals were never sent."""
    s = settings()
    runner = ModelRunner(context(s))
    snaps = snapshots_of(market(1500), s.snapshot_interval_ms)
    batch = events("features", 0, [(x.pair.encode(), encode(x)) for x in snaps])
    async with runner.step_lock:  # a batch under way
        for event in batch:
            await runner._take(event, 0.0)
        await runner.on_revoked(None, {TP("features", 0)})  # the fence: no checkpoint, pairs forgotten
        for x in snaps:
            runner.models.step(x)  # the batch goes on scoring
    assert await runner.resume_points([TP("features", 0)], {}) == {TP("features", 0): ResumeAt(0)}
    assert all(runner.models.is_new(x) for x in snaps)  # replayed from the start, scored again


async def test_no_checkpoint_is_taken_before_a_partition_applied_anything() -> None:
    """A checkpoint taken while the partition's first snapshot was still held named offset -1, and every
    worker later given the partition crashed seeking there (`make chaos`)."""
    s = settings().model_copy(update={"database_url": "postgresql://127.0.0.1:1/solbot"})
    runner = ModelRunner(context(s))
    snaps = snapshots_of(market(300), s.snapshot_interval_ms)
    (first,) = events("features", 2, [(snaps[0].pair.encode(), encode(snaps[0]))])
    await runner._take(first, 0.0)
    assert runner.merge.held == 1  # offset 0 waits for the partition to move past it
    assert runner.checkpoint_payloads([2]) == []


async def test_operator_parameters_apply_once_per_update() -> None:
    from streams.records import StrategyParams

    runner = ModelRunner(context(settings()))
    record = StrategyParams(
        name="grid",
        enabled=False,
        max_position_pct=5.0,
        stop_loss_pct=2.0,
        take_profit_pct=4.0,
        grid_levels=0,
        pairs=[],
        updated_by="w",
        updated_ms=5,
    )
    msg = events("strategy.params", 0, [(b"grid", encode(record)), (b"grid", b"nope")])
    runner.apply_params_message(msg[0].message)
    runner.apply_params_message(msg[1].message)  # logged and skipped
    assert not runner.models.controls["grid"].enabled
    assert runner.apply_params_records([record]) == 0  # the same record again changes nothing


class FakeSink:
    portfolio = "main"

    def __init__(self, stored: dict[int, int]) -> None:
        self.stored = stored

    async def next_offsets(self, topic: str) -> dict[int, int]:
        return dict(self.stored)


async def test_the_orders_partitions_resume_at_the_sinks_offsets_back_as_well_as_forward() -> None:
    """The sink's stored offsets are where consumption resumes: ahead of the committed offset (committed on
    an interval), or behind it (records acknowledged but never applied: issue 16, item 1)."""
    from agents.execution import ExecutionRunner

    s = settings().model_copy(update={"database_url": "postgresql://unused"})
    runner = ExecutionRunner(context(s))
    runner.sink = FakeSink({0: 12, 1: 3})  # type: ignore[assignment]  # started: no pool is opened
    orders0, orders1 = TP("orders", 0), TP("orders", 1)
    points = await runner.resume_points([orders0, orders1], {orders0: 5, orders1: 7})
    assert points == {orders0: ResumeAt(12), orders1: ResumeAt(3)}  # 1 goes back from the committed 7
    assert await runner.resume_points([TP("orders", 2)], {TP("orders", 2): 4}) == {}  # never applied
    assert await runner.balance_check() == {
        "available": False,
        "reason": "no local chain here (PAPER_CHAIN off, or not started)",
    }


async def test_a_worker_whose_chain_another_worker_has_moved_past_does_not_answer_the_balance_check() -> None:
    """A worker paused beyond its session still holds the orders partition for a moment when it resumes, with
    a paper chain the next owner has moved past: it answered `make chaos`'s chain check (`chain_ok` false
    at the end of the pause window) although its chain no longer mirrors the record. It declines until a
    sync or an `apply` of its own brings it level again."""
    from agents.execution import ExecutionRunner

    class Chain:
        wallet, transactions_sent = "W", 0

        def balances(self) -> dict[str, int]:
            return {"USDC": 5}

    class Sink(FakeSink):
        async def balances(self) -> dict[str, int]:
            return {"USDC": 5}

    class Owner:
        def assignment(self) -> set[TP]:
            return {TP("orders", 0)}

    runner = ExecutionRunner(context(settings()))
    runner.ctx.app.consumer = Owner()  # type: ignore[attr-defined]
    runner.sink, runner.chain = Sink({0: 12}), Chain()  # type: ignore[assignment]
    runner.chain_at = {0: 12}  # synced at 12
    assert (await runner.balance_check())["ok"] is True
    runner.sink.stored = {0: 15}  # type: ignore[attr-defined]  # another worker applied 12..14 meanwhile
    check = await runner.balance_check()
    assert check["available"] is False and "another worker" in check["reason"]


def test_the_status_page_counts_lag_from_faust_read_offsets() -> None:
    from agents.views import partitions

    class Consumer:
        _read_offset = {TP("features", 0): 9, TP("orders", 0): None}

        def assignment(self) -> set[TP]:
            return {TP("features", 0), TP("orders", 0), TP("solbot-pair_to_bar_1s-changelog", 0)}

        def highwater(self, tp: TP) -> int:
            return 15

    owned, lag = partitions(Consumer())
    assert owned == {"features": [0], "orders": [0], "solbot-pair_to_bar_1s-changelog": [0]}
    assert lag == {"features:0": 5, "orders:0": 15}
