"""Fan-out of live messages to WebSocket clients, with a bounded queue per client.

A slow client must never make the server's memory grow: each client's queue holds at most `maxsize`
messages; when it is full the OLDEST message is dropped, and the next thing the client receives is a
`{"type": "dropped", "count": n}` notice (n drops since the last notice), then the newer messages.
The class knows nothing of sockets or Kafka, so it is unit-tested on its own.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from typing import Any

CHANNELS = frozenset({"prices", "signals", "orders", "fills", "alerts", "status"})
DEFAULT_QUEUE_SIZE = 1000


class ClientQueue:
    """One client's subscriptions and its bounded outbox."""

    def __init__(self, maxsize: int = DEFAULT_QUEUE_SIZE) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self.channels: set[str] = set()
        self._items: deque[dict[str, Any]] = deque()
        self._maxsize = maxsize
        self._dropped = 0
        self._ready = asyncio.Event()
        self.dropped_total = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, message: dict[str, Any]) -> None:
        if len(self._items) >= self._maxsize:
            self._items.popleft()
            self._dropped += 1
            self.dropped_total += 1
        self._items.append(message)
        self._ready.set()

    def get_nowait(self) -> dict[str, Any] | None:
        """The next message (a drop notice first, if any were dropped), or None when empty."""
        if self._dropped:
            count, self._dropped = self._dropped, 0
            return {"type": "dropped", "count": count}
        if self._items:
            return self._items.popleft()
        self._ready.clear()
        return None

    async def get(self) -> dict[str, Any]:
        while True:
            message = self.get_nowait()
            if message is not None:
                return message
            await self._ready.wait()


class Bridge:
    """Registry of connected clients; `publish` hands one message to every client of its channel."""

    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._clients: set[ClientQueue] = set()

    @property
    def clients(self) -> int:
        return len(self._clients)

    def connect(self) -> ClientQueue:
        client = ClientQueue(self.queue_size)
        self._clients.add(client)
        return client

    def disconnect(self, client: ClientQueue) -> None:
        self._clients.discard(client)

    def subscribers(self, channel: str) -> int:
        return sum(1 for c in self._clients if channel in c.channels)

    @staticmethod
    def subscribe(client: ClientQueue, channels: Iterable[str]) -> list[str]:
        """Replace the client's subscriptions with the known channels among `channels`; returns them."""
        chosen = sorted(set(channels) & CHANNELS)
        client.channels = set(chosen)
        return chosen

    def publish(self, channel: str, data: Any) -> int:
        """Queue `{"type": channel, "data": data}` for every subscriber; returns how many got it."""
        message = {"type": channel, "data": data}
        sent = 0
        for client in self._clients:
            if channel in client.channels:
                client.put(message)
                sent += 1
        return sent
