"""A batch's dead letters reach the broker before the batch ends, even when it refuses some at first."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka.errors import RequestTimedOutError

from streams.compat.dead_letters import send_dead_letters


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
    """Refuses the first `refuse` sends (as a broker timing out would), accepts the rest."""

    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.delivered: list[bytes] = []

    async def send(self, topic: str, key: bytes, value: bytes, *rest: Any) -> asyncio.Future[Any]:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.refuse > 0:
            self.refuse -= 1
            fut.set_exception(RequestTimedOutError())
        else:
            self.delivered.append(value)
            fut.set_result(None)
        return fut


class _App:
    def __init__(self, producer: _Producer) -> None:
        self.producer = producer
        self.sensors = _Sensors()

    async def maybe_start_producer(self) -> _Producer:
        return self.producer


class _Topic:
    def __init__(self, app: _App) -> None:
        self.app = app

    def get_topic_name(self) -> str:
        return "dlq.raw"


async def test_letters_the_broker_refused_are_sent_again_before_the_batch_ends() -> None:
    producer = _Producer(refuse=3)
    letters = [(_Event(_Message("raw.swaps", 0, i, b"k", b"bad %d" % i)), "not json") for i in range(5)]
    await send_dead_letters(_Topic(_App(producer)), letters, "build_features")
    delivered = sorted(orjson.loads(v)["offset"] for v in producer.delivered)
    assert delivered == [0, 1, 2, 3, 4]
