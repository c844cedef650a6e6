"""Hand-written fakes for testing the agents' runners without a broker: topics that record what is sent,
Faust-shaped tables, Faust-shaped events, and a worker context holding them."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from faust.types import TP

from agents.context import WorkerContext
from core.settings import Settings
from risk.limits import RiskLimits
from streams.compat import Compat
from streams.compat.seeks import ResumeHooks


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: float = 1_700_000_000.0
    headers: Any = None  # Faust's message headers (the risk owner's epoch rides there)
    acked: bool = False

    @property
    def tp(self) -> TP:
        return TP(self.topic, self.partition)


@dataclass
class Event:
    message: Message


def events(
    topic: str, partition: int, values: Iterable[tuple[bytes | None, bytes]], start: int = 0
) -> list[Event]:
    return [Event(Message(topic, partition, start + i, key, value)) for i, (key, value) in enumerate(values)]


class Sensors:
    def on_send_initiated(self, *args: Any) -> None:
        return None

    def on_send_completed(self, *args: Any) -> None:
        return None

    def on_send_error(self, *args: Any) -> None:
        return None


class Producer:
    """Faust's producer (`send(topic, key, value, ...)`) and the aiokafka one inside it (`send(topic,
    value, key=...)`), both recording (topic, key, value)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send(self, topic: str, key: bytes, value: bytes, *rest: Any) -> asyncio.Future[Any]:
        self.sent.append((topic, key, value))
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    def _ensure_producer(self) -> _Client:
        return _Client(self)


class _Client:
    def __init__(self, producer: Producer) -> None:
        self.producer = producer

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[Any]:
        return await self.producer.send(topic, key, value)


class Consumer:
    """A consumer assigned nothing (no partition to rewind)."""

    def assignment(self) -> set[Any]:
        return set()


class App:
    """What dead-letter sends and rewinds reach of an app: its producer, sensors and consumer."""

    def __init__(self) -> None:
        self.producer = Producer()
        self.sensors = Sensors()
        self.consumer = Consumer()
        self.in_transaction = False

    async def maybe_start_producer(self) -> Producer:
        return self.producer


class Topic:
    """A Faust topic that records every send (key, value, partition); sends are acknowledged at once, or
    left to the test (`hold_acks`: their futures in `unacked`)."""

    def __init__(self, name: str, app: App) -> None:
        self.name = name
        self.app = app
        self.sent: list[tuple[bytes | None, bytes, int | None]] = []
        self.headers: list[Any] = []
        self.hold_acks = False
        self.unacked: list[asyncio.Future[Any]] = []

    def get_topic_name(self) -> str:
        return self.name

    async def send(
        self, *, key: bytes | None, value: bytes, partition: int | None = None, headers: Any = None
    ) -> asyncio.Future[Any]:
        self.sent.append((key, value, partition))
        self.headers.append(headers)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.hold_acks:
            self.unacked.append(fut)
        else:
            fut.set_result(None)
        return fut


@dataclass
class Topics:
    app: App
    raw_swaps_topic: Topic = field(init=False)
    features_inputs_topic: Topic = field(init=False)
    raw_launches_topic: Topic = field(init=False)
    features_topic: Topic = field(init=False)
    signals_topic: Topic = field(init=False)
    orders_topic: Topic = field(init=False)
    rejected_topic: Topic = field(init=False)
    fills_topic: Topic = field(init=False)
    allocations_topic: Topic = field(init=False)
    strategy_params_topic: Topic = field(init=False)
    dlq_raw_topic: Topic = field(init=False)
    dlq_features_topic: Topic = field(init=False)
    dlq_signals_topic: Topic = field(init=False)
    dlq_orders_topic: Topic = field(init=False)

    def __post_init__(self) -> None:
        for name, topic in (
            ("raw_swaps_topic", "raw.swaps"),
            ("features_inputs_topic", "raw.swaps"),  # the fakes' agents are driven by hand, one topic each
            ("raw_launches_topic", "raw.launches"),
            ("features_topic", "features"),
            ("signals_topic", "signals"),
            ("orders_topic", "orders"),
            ("rejected_topic", "orders.rejected"),
            ("fills_topic", "fills"),
            ("allocations_topic", "allocations"),
            ("strategy_params_topic", "strategy.params"),
            ("dlq_raw_topic", "dlq.raw"),
            ("dlq_features_topic", "dlq.features"),
            ("dlq_signals_topic", "dlq.signals"),
            ("dlq_orders_topic", "dlq.orders"),
        ):
            setattr(self, name, Topic(topic, self.app))


class FaustLikeTable:
    """The private surface of a Faust table that `streams.compat.tables.FaustTable` uses."""

    def __init__(self, windowed: bool = False) -> None:
        self.data: dict[Hashable, Any] = {}
        self.windowed = windowed
        self.changelog: list[tuple[int, Hashable]] = []
        self.ttls: list[Hashable] = []

    def _should_expire_keys(self) -> bool:
        return self.windowed

    def send_changelog(self, partition: int, key: Hashable, value: Any) -> asyncio.Future[Any]:
        self.changelog.append((partition, key))
        sent: asyncio.Future[Any] = asyncio.get_event_loop().create_future()
        sent.set_result(None)  # acknowledged at once
        return sent

    def _maybe_set_key_ttl(self, key: Hashable, partition: int) -> None:
        self.ttls.append(key)


@dataclass
class Tables:
    pair_to_bar_1s: FaustLikeTable = field(default_factory=lambda: FaustLikeTable(windowed=True))
    pair_to_bar_10s: FaustLikeTable = field(default_factory=lambda: FaustLikeTable(windowed=True))
    pair_to_bar_60s: FaustLikeTable = field(default_factory=lambda: FaustLikeTable(windowed=True))
    pair_to_feature_state: FaustLikeTable = field(default_factory=FaustLikeTable)
    mint_to_launch: FaustLikeTable = field(default_factory=FaustLikeTable)


class Connections:
    def __init__(self) -> None:
        self.alerts: list[tuple[str, str, str]] = []
        self.notifier: Any = None

    async def alert(self, alerts: Iterable[tuple[str, str, str]], what: str) -> None:
        self.alerts.extend(alerts)

    async def pool(self, name: str, *, max_size: int = 5) -> Any:
        raise AssertionError("no database in these tests")


def context(settings: Settings) -> WorkerContext:
    """A worker context of fakes: no app, broker, database or Redis."""
    app = App()
    return WorkerContext(
        settings=settings,
        app=app,  # type: ignore[arg-type]
        topics=Topics(app),  # type: ignore[arg-type]
        tables=Tables(),  # type: ignore[arg-type]
        risk_table=FaustLikeTable(),  # type: ignore[arg-type]
        compat=Compat("tansu", ResumeHooks()),
        limits=RiskLimits.from_settings(settings),
        connections=Connections(),  # type: ignore[arg-type]
        chain=None,
    )
