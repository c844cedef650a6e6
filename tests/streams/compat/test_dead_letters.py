"""A batch's dead letters: at-least-once, at the broker before the batch ends, even when it refuses some at
first; exactly-once, in their input tasks' transactions."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka.errors import RequestTimedOutError
from faust.types import TP

from streams.compat.dead_letters import send_dead_letters
from streams.compat.transactions import TaskTransactions


@dataclass
class _Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass
class _Event:
    message: _Message


class _Sensors:
    def on_send_initiated(self, *args: Any) -> None:
        return None

    def on_send_completed(self, *args: Any) -> None:
        return None

    def on_send_error(self, *args: Any) -> None:
        return None


class _Producer:
    """Faust's producer around an aiokafka one that refuses the first `refuse` sends (as a broker timing
    out would) and accepts the rest."""

    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.delivered: list[bytes] = []

    def _ensure_producer(self) -> _Producer:
        return self

    async def send(self, topic: str, value: bytes, key: bytes | None = None) -> asyncio.Future[Any]:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.refuse > 0:
            self.refuse -= 1
            fut.set_exception(RequestTimedOutError())
        else:
            self.delivered.append(value)
            fut.set_result(None)
        return fut


class _App:
    def __init__(self, producer: Any, in_transaction: bool = False) -> None:
        self.producer = producer
        self.sensors = _Sensors()
        self.in_transaction = in_transaction

    async def maybe_start_producer(self) -> Any:
        return self.producer


class _Topic:
    def __init__(self, app: _App) -> None:
        self.app = app

    def get_topic_name(self) -> str:
        return "dlq.raw"


def _letters(n: int, partition: int = 0) -> list[tuple[Any, str]]:
    return [(_Event(_Message("raw.swaps", partition, i, b"k", b"bad %d" % i)), "not json") for i in range(n)]


async def test_letters_the_broker_refused_are_sent_again_before_the_batch_ends() -> None:
    producer = _Producer(refuse=3)
    await send_dead_letters(_Topic(_App(producer)), _letters(5), "build_features")
    delivered = sorted(orjson.loads(v)["offset"] for v in producer.delivered)
    assert delivered == [0, 1, 2, 3, 4]


class _Transactions(TaskTransactions):
    """The exactly-once manager as the letters meet it: what each task's transaction took."""

    def __init__(self) -> None:
        self.taken: list[tuple[TP, list[int]]] = []

    async def send_many(
        self, topic: str, key: bytes | None, values: Sequence[bytes], source: TP
    ) -> list[asyncio.Future[Any]]:
        self.taken.append((source, [orjson.loads(v)["offset"] for v in values]))
        return [asyncio.get_running_loop().create_future() for _ in values]  # acks that never come


async def test_under_exactly_once_the_batch_ends_once_its_letters_are_in_their_tasks_transactions() -> None:
    """The transaction commits them with the batch's offsets or not at all; waiting for each ack held the
    features agent most of a flood's time."""
    transactions = _Transactions()
    letters = _letters(2, partition=3) + _letters(3, partition=1)
    await asyncio.wait_for(
        send_dead_letters(_Topic(_App(transactions, in_transaction=True)), letters, "build_features"), 1.0
    )
    assert transactions.taken == [(TP("raw.swaps", 1), [0, 1, 2]), (TP("raw.swaps", 3), [0, 1])]
