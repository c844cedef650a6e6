"""Topics the group reads that the leader's metadata lacks: refreshed until they appear, then a rejoin.

aiokafka drops a topic from its metadata when the broker answers LeaderNotAvailable (Kafka does for a
topic created a moment before, as Faust creates the tables' changelogs at start) and asks again only after
`metadata_max_age_ms`. Faust's assignor skips a topic without partitions ("Ignoring missing topic"), so
the first worker of a fresh cluster assigned no one the risk state's changelog: never recovered, and
its partition never counted among the worker's, for minutes. Once the refreshed metadata has the topic,
aiokafka's leader sees its snapshot change and rejoins, and the next assignment includes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

REFRESH_TRIES = 50
REFRESH_PAUSE_S = 0.2


def missing_topics(cluster: Any, subscribed: Iterable[str]) -> list[str]:
    return sorted(t for t in set(subscribed) if not cluster.partitions_for_topic(t))


def install_metadata_refresh(assignor: Any, client_of: Any) -> None:
    """Wrap `assignor.assign` (on the instance): with subscribed topics missing from the metadata, refresh
    it in the background (`client_of()` is aiokafka's client) until they are there."""
    assign = assignor.assign
    refreshing: set[asyncio.Task[None]] = set()

    def assign_then_refresh(cluster: Any, member_metadata: Any) -> Any:
        subscribed = [t for m in member_metadata.values() for t in m.subscription]
        missing = missing_topics(cluster, subscribed)
        if missing and not refreshing:
            log.warning("topics not in the metadata yet, assigned at the next rejoin: %s", missing)
            task = asyncio.ensure_future(refresh(client_of(), cluster, missing))
            refreshing.add(task)
            task.add_done_callback(refreshing.discard)
        return assign(cluster, member_metadata)

    assignor.assign = assign_then_refresh


async def refresh(client: Any, cluster: Any, topics: list[str]) -> None:
    for _ in range(REFRESH_TRIES):
        await client.force_metadata_update()
        if not missing_topics(cluster, topics):
            return
        await asyncio.sleep(REFRESH_PAUSE_S)
    log.warning("topics still not in the metadata: %s", missing_topics(cluster, topics))
