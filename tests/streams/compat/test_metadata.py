"""`streams.compat.metadata`: a subscribed topic missing from the leader's metadata is refreshed until it is
there (aiokafka then rejoins and the next assignment includes it)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from streams.compat import metadata
from streams.compat.metadata import install_metadata_refresh, missing_topics


class Cluster:
    def __init__(self, topics: set[str]) -> None:
        self.topics = topics

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return {0} if topic in self.topics else None


class Client:
    """Each forced update makes the topics in `arriving` known, one per call."""

    def __init__(self, cluster: Cluster, arriving: list[str]) -> None:
        self.cluster, self.arriving, self.updates = cluster, arriving, 0

    async def force_metadata_update(self) -> bool:
        self.updates += 1
        if self.arriving:
            self.cluster.topics.add(self.arriving.pop(0))
        return True


class Assignor:
    def __init__(self) -> None:
        self.calls = 0

    def assign(self, cluster: Any, member_metadata: Any) -> Any:
        self.calls += 1
        return {"assigned": sorted(cluster.topics)}


def members(*subscriptions: list[str]) -> dict[str, Any]:
    return {f"m{i}": SimpleNamespace(subscription=s) for i, s in enumerate(subscriptions)}


def test_missing_topics_are_the_subscribed_ones_without_partitions() -> None:
    assert missing_topics(Cluster({"a"}), ["a", "b", "b", "c"]) == ["b", "c"]


async def test_a_missing_topic_is_refreshed_until_it_appears(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metadata, "REFRESH_PAUSE_S", 0.0)
    cluster = Cluster({"signals"})
    client = Client(cluster, arriving=["other", "risk-changelog"])
    assignor = Assignor()
    install_metadata_refresh(assignor, lambda: client)
    assert assignor.assign(cluster, members(["signals", "risk-changelog"])) == {"assigned": ["signals"]}
    for _ in range(10):
        await asyncio.sleep(0)
    assert "risk-changelog" in cluster.topics
    assert client.updates == 2  # stopped once it was there
    assert assignor.calls == 1


async def test_nothing_is_refreshed_when_every_topic_is_known() -> None:
    cluster = Cluster({"signals", "orders"})
    client = Client(cluster, arriving=[])
    assignor = Assignor()
    install_metadata_refresh(assignor, lambda: client)
    assignor.assign(cluster, members(["signals"], ["orders"]))
    await asyncio.sleep(0)
    assert client.updates == 0
