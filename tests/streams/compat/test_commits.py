"""Faust's committed-offset map after a commit the broker refused: Faust's own `_commit_offsets` runs
here, on a consumer whose driver commit answers as the broker would."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from types import SimpleNamespace

from faust.transport.consumer import Consumer as FaustConsumer
from faust.types import TP
from mode.utils.logging import CompositeLogger

from streams.compat.commits import install_commit_truth

SWAPS = TP("raw.swaps", 0)
POOLS = TP("raw.pools", 1)


class Producer:
    def __init__(self) -> None:
        self.during_flush: Callable[[], None] = lambda: None

    async def flush(self) -> None:
        await asyncio.sleep(0)
        self.during_flush()


class Driver:
    """Faust's consumer with its commit path: the offsets a commit tried, and whether the broker took them."""

    def __init__(self, committed: dict[TP, int], accept: bool) -> None:
        self._committed_offset: defaultdict[TP, int | None] = defaultdict(lambda: None, committed)
        self.accept = accept
        self.sent: list[dict[TP, int]] = []
        self.producer = Producer()
        self.app = SimpleNamespace(
            producer=self.producer,
            tables=SimpleNamespace(on_commit=lambda offsets: None),
            monitor=SimpleNamespace(on_tp_commit=lambda offsets: None),
        )
        self.in_transaction = False
        self.log = CompositeLogger(logging.getLogger("faust.transport.consumer"))
        self._commit_offsets = FaustConsumer._commit_offsets.__get__(self)  # Faust's own

    def assignment(self) -> set[TP]:
        return {SWAPS, POOLS}

    async def _commit(self, offsets: Mapping[TP, int]) -> bool:
        self.sent.append(dict(offsets))
        return self.accept  # Faust's driver answers False for "the group has already rebalanced"


async def test_a_refused_commit_leaves_the_committed_offsets_as_they_were() -> None:
    driver = Driver({SWAPS: 1159}, accept=False)
    install_commit_truth(driver)
    assert await driver._commit_offsets({SWAPS: 1300, POOLS: 40}) is False
    assert driver.sent == [{SWAPS: 1300, POOLS: 40}]
    assert dict(driver._committed_offset) == {SWAPS: 1159}


async def test_without_it_faust_writes_the_refused_offsets_into_the_map() -> None:
    driver = Driver({SWAPS: 1159}, accept=False)
    assert await driver._commit_offsets({SWAPS: 1300, POOLS: 40}) is False
    assert dict(driver._committed_offset) == {SWAPS: 1300, POOLS: 40}


async def test_a_rebalance_during_a_refused_commit_leaves_the_map_empty_for_the_next_assignment() -> None:
    """The paused worker: the rebalance empties the map while its last commit waits for the producer;
    the broker then refuses that commit (the group no longer knows the member)."""
    driver = Driver({SWAPS: 1159}, accept=False)
    install_commit_truth(driver)
    driver.producer.during_flush = driver._committed_offset.clear  # Faust's on_partitions_revoked
    await driver._commit_offsets({SWAPS: 1200})
    assert dict(driver._committed_offset) == {}


async def test_an_accepted_commit_is_written_as_faust_writes_it() -> None:
    driver = Driver({SWAPS: 1159}, accept=True)
    install_commit_truth(driver)
    assert await driver._commit_offsets({SWAPS: 1300}) is True
    assert dict(driver._committed_offset) == {SWAPS: 1300}
