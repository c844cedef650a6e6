"""A broker's identity: stable while its data live, new when they are lost (Tansu restarted)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from services.broker import start_tansu
from services.process import terminate
from streams.broker import bootstrap_of
from streams.identity import BrokerIdentity, end_offsets, first_epoch, read_identity

pytestmark = pytest.mark.integration


async def test_the_identity_is_stable_on_one_broker(broker_url: str) -> None:
    bootstrap = bootstrap_of(broker_url)
    first = await read_identity(bootstrap)
    assert isinstance(first, BrokerIdentity) and first.cluster_id != "none" and len(first.epoch) == 32
    assert await read_identity(bootstrap) == first
    assert await read_identity(bootstrap, write=False) == first
    assert str(first) == f"cluster {first.cluster_id}, epoch {first.epoch}"


async def test_concurrent_first_runs_agree_on_one_epoch(tmp_path: Path) -> None:
    handle = start_tansu(tmp_path)
    try:
        bootstrap = bootstrap_of(handle.url)
        assert await read_identity(bootstrap, write=False) is None  # nothing written yet
        seen = await asyncio.gather(*(read_identity(bootstrap) for _ in range(3)))
        assert len(set(seen)) == 1
        assert await first_epoch(bootstrap) == seen[0].epoch  # type: ignore[union-attr]
    finally:
        terminate(handle.pid)


async def test_a_broker_that_lost_its_data_has_a_new_identity(tmp_path: Path) -> None:
    """Tansu keeps its cluster id across a restart but not its topics: the epoch tells them apart."""
    handle = start_tansu(tmp_path)
    try:
        before = await read_identity(bootstrap_of(handle.url))
    finally:
        terminate(handle.pid)
    handle = start_tansu(tmp_path, port=handle.port)
    try:
        after = await read_identity(bootstrap_of(handle.url))
    finally:
        terminate(handle.pid)
    assert before is not None and after is not None
    assert before.epoch != after.epoch


async def test_end_offsets_of_existing_partitions(broker_url: str) -> None:
    bootstrap = bootstrap_of(broker_url)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for _ in range(3):
            await producer.send_and_wait("identity-ends", b"x", partition=0)
    finally:
        await producer.stop()
    ends = await end_offsets(bootstrap, ["identity-ends", "no-such-topic-here"])
    assert ends[("identity-ends", 0)] == 3
    assert not any(topic == "no-such-topic-here" for topic, _ in ends)
