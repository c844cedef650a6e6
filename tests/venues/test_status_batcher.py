"""The status batcher: concurrent waits share one getSignatureStatuses call; errors reach every waiter."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

from chain.rpc import RpcClient, SignatureStatus
from core.errors import RpcRateLimited
from venues.lifecycle import StatusBatcher


class CountingRpc:
    def __init__(self, landed: set[str], fail: bool = False) -> None:
        self.landed, self.fail = landed, fail
        self.calls: list[tuple[list[str], bool]] = []
        self.heights = 0

    async def get_signature_statuses(
        self, signatures: Sequence[str], *, search_history: bool = False
    ) -> list[SignatureStatus | None]:
        self.calls.append((list(signatures), search_history))
        await asyncio.sleep(0.01)
        if self.fail:
            raise RpcRateLimited("429", 0.1)
        return [SignatureStatus(5, 1, None, "confirmed") if s in self.landed else None for s in signatures]

    async def get_block_height(self) -> int:
        self.heights += 1
        await asyncio.sleep(0.01)
        return 100 + self.heights


def batcher(rpc: CountingRpc) -> StatusBatcher:
    return StatusBatcher(cast(RpcClient, rpc))


async def test_concurrent_waits_share_one_call_and_get_their_own_answer() -> None:
    rpc = CountingRpc({"a", "c"})
    b = batcher(rpc)
    found = await asyncio.gather(*(b.status(s) for s in ["a", "b", "c", "a"]))
    assert [f is not None for f in found] == [True, False, True, True]
    assert len(rpc.calls) == 1 and sorted(rpc.calls[0][0]) == ["a", "b", "c"]


async def test_history_searches_are_a_separate_call() -> None:
    rpc = CountingRpc(set())
    b = batcher(rpc)
    await asyncio.gather(b.status("a"), b.status("a", search_history=True))
    assert sorted(flag for _, flag in rpc.calls) == [False, True]


async def test_more_than_256_signatures_are_split() -> None:
    rpc = CountingRpc(set())
    b = batcher(rpc)
    await asyncio.gather(*(b.status(f"s{i}") for i in range(600)))
    assert [len(sigs) for sigs, _ in rpc.calls] == [256, 256, 88]


async def test_an_error_reaches_every_waiter() -> None:
    b = batcher(CountingRpc(set(), fail=True))
    results: list[Any] = await asyncio.gather(b.status("a"), b.status("b"), return_exceptions=True)
    assert all(isinstance(r, RpcRateLimited) for r in results)


async def test_concurrent_height_reads_share_one_request() -> None:
    rpc = CountingRpc(set())
    b = batcher(rpc)
    heights = await asyncio.gather(*(b.block_height() for _ in range(20)))
    assert rpc.heights == 1 and set(heights) == {101}
    assert await b.block_height() == 102  # a later read is a new request


async def test_a_lone_wait_is_answered() -> None:
    rpc = CountingRpc({"x"})
    assert await batcher(rpc).status("x") is not None
