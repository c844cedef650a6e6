"""The shared poll loop: failures cost one interval, bugs propagate, cancellation gets through."""

from __future__ import annotations

import asyncio

import pytest

from collectors.polling import poll_forever
from core.errors import RateLimited, SolbotError
from tests.collectors.solana_pubsub_server import eventually


async def test_failed_polls_are_counted_and_the_loop_goes_on() -> None:
    calls: list[int] = []
    errors: list[SolbotError] = []

    async def poll() -> None:
        calls.append(len(calls))
        if len(calls) % 2:
            raise RateLimited("429", retry_after_s=1.0)

    task = asyncio.create_task(poll_forever(poll, source="test", poll_s=0.001, on_error=errors.append))
    await eventually(lambda: len(calls) >= 6)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(errors) == (len(calls) + 1) // 2 and all(isinstance(e, RateLimited) for e in errors)


async def test_a_bug_is_not_swallowed() -> None:
    async def poll() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await poll_forever(poll, source="test", poll_s=0.001, on_error=lambda _e: None)
