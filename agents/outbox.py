"""The risk outbox's sends in flight: a decision stays in the saved state's outbox until the broker acks it.

The risk agent publishes a batch's decisions only once the state holding them is acknowledged, so a crash
never leaves an order on the wire whose state was not saved. It used to wait for the broker's acks of those
sends before its next batch: 20-40 ms a batch (docs/performance.md), which every signal arriving meanwhile
waited too. Now the next batch is decided while they are in flight; every decision not acked yet stays in
the outbox of each later save, so a crash or a new owner sends it again (same ids: the execution sink and
every reader take an order once). A send that failed is sent again with the next batch (or the timer's
look, when no input comes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

# An outbox entry: {"topic": ..., "value": the encoded decision, "epoch": ...}; the value names it (its id).
Entry = dict[str, str]
Send = Callable[[Entry], Awaitable[asyncio.Future[Any]]]


class OutboxSends:
    """Which outbox entries this worker has sent and whether the broker acked them."""

    def __init__(self) -> None:
        self._sent: dict[str, asyncio.Future[Any]] = {}

    async def send(self, outbox: list[Entry], send: Send) -> None:
        """Send every entry of `outbox` not in flight already (a recovered outbox: all of them)."""
        for entry in outbox:
            if entry["value"] not in self._sent:
                self._sent[entry["value"]] = await send(entry)

    def settle(self, outbox: list[Entry]) -> tuple[list[Entry], list[BaseException]]:
        """`outbox` without the entries the broker acked, and the errors of the sends that failed: those
        entries stay, forgotten as sent, so the next `send` sends them again. An acked entry is remembered
        until a saved outbox no longer holds it (`saved`): a batch that fails before its save leaves it in
        the stored state, and it must not go out twice."""
        kept: list[Entry] = []
        errors: list[BaseException] = []
        for entry in outbox:
            future = self._sent.get(entry["value"])
            if future is None or not future.done():
                kept.append(entry)
            elif future.cancelled() or future.exception() is not None:
                del self._sent[entry["value"]]
                errors.append(future.exception() or asyncio.CancelledError())
                kept.append(entry)
        return kept, errors

    def saved(self, outbox: list[Entry]) -> None:
        """The state was saved with `outbox`: what it no longer holds needs no remembering."""
        held = {e["value"] for e in outbox}
        for value in [v for v in self._sent if v not in held]:
            del self._sent[value]

    def waiting(self, outbox: list[Entry]) -> bool:
        """Whether the saved `outbox` holds an entry to act on: not sent by this worker, or answered (acked:
        to drop from the saved state; failed: to send again)."""
        return any(self._sent.get(e["value"]) is None or self._sent[e["value"]].done() for e in outbox)

    def forget(self) -> None:
        """The risk inputs changed hands: whoever owns them next sends what the saved outbox holds."""
        self._sent.clear()
