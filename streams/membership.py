"""Which processing guarantee the running workers of a group use, read from the broker.

A group whose members disagree breaks both guarantees: an at-least-once member commits offsets outside
transactions while an exactly-once member's read_committed peers wait for commits it never makes, and a
task moving between them changes its semantics mid-stream. Each worker names its guarantee in its Kafka
client id (`worker_client_id`), which the group coordinator reports for every member (DescribeGroups, as
`kafka-consumer-groups --describe` shows it); a worker that would differ refuses to start.
"""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient

from core.errors import ConfigError
from streams.broker_auth import NO_AUTH, BrokerAuth

log = logging.getLogger(__name__)

CLIENT_ID_PREFIX = "solbot-worker-"
GUARANTEES = ("at_least_once", "exactly_once")


def worker_client_id(guarantee: str) -> str:
    """The Kafka client id of a worker running under `guarantee`."""
    return f"{CLIENT_ID_PREFIX}{guarantee}"


def guarantee_of(client_id: str) -> str | None:
    """The guarantee a member's client id names; None for a client that is not a solbot worker."""
    if not client_id.startswith(CLIENT_ID_PREFIX):
        return None
    named = client_id[len(CLIENT_ID_PREFIX) :]
    return named if named in GUARANTEES else None


def refuse_mixed(group: str, mine: str, running: set[str]) -> None:
    """ConfigError (one line, exit 2) when the group's running workers use another guarantee than `mine`."""
    others = sorted(running - {mine})
    if others:
        raise ConfigError(
            f"worker refuses to start: the running workers of group {group!r} use {', '.join(others)}, "
            f"this one {mine}; set PROCESSING_GUARANTEE={others[0]} or stop them first"
        )


async def running_guarantees(bootstrap: str, group: str, auth: BrokerAuth = NO_AUTH) -> set[str]:
    """The guarantees named by the current members of `group` (empty when it has none)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **auth)
    await admin.start()
    try:
        responses = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    seen: set[str] = set()
    for response in responses:
        for described in response.to_object()["groups"]:
            for member in described["members"]:
                named = guarantee_of(member["client_id"])
                if named is not None:
                    seen.add(named)
    log.debug("group %s runs %s", group, sorted(seen) or "no worker")
    return seen
