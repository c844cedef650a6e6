"""The start-up check that the database and the broker belong together, and `solbot reset`.

The execution sink resumes from offsets stored in Postgres and the model agent from checkpoints that name
offsets of `features`. Against a broker that lost its data (Tansu restarted, a wiped Kafka data dir) or
another broker, they point past the new, empty topics: the bot would decide and never fill. So a run
starts only when the identity recorded beside that state is this broker's (`streams.identity`), and
otherwise stops with one line naming `solbot reset`, which clears the state on purpose.
"""

from __future__ import annotations

import logging

import asyncpg

from core.errors import BrokerMismatch
from store import broker_identity as stored
from streams.broker_auth import NO_AUTH, BrokerAuth
from streams.identity import BrokerIdentity, end_offsets, read_identity

log = logging.getLogger(__name__)

RESET_HINT = "run `solbot reset --yes` to clear them and start over on this broker"


def mismatch(
    recorded: tuple[str, str] | None,
    current: BrokerIdentity,
    state: stored.BoundState,
    ends: dict[tuple[str, int], int],
) -> str | None:
    """Why the database's broker-bound state does not belong to this broker (one line), or None."""
    if state.empty:
        return None  # nothing to resume: any broker will do
    if recorded is not None and recorded != (current.cluster_id, current.epoch):
        cluster_id, epoch = recorded
        return (
            f"the database's sink offsets and model checkpoints were written against another broker "
            f"(cluster {cluster_id}, epoch {epoch}; this one is {current}): its topics are gone; {RESET_HINT}"
        )
    for topic, partition, next_offset in state.sink_offsets:
        end = ends.get((topic, partition), 0)
        if next_offset > end:
            return (
                f"the database's sink offsets point past the end of this broker's topics ({topic}"
                f"[{partition}] resumes at {next_offset}, the topic ends at {end}): the broker lost data; "
                f"{RESET_HINT}"
            )
    return None


async def check_broker_identity(
    bootstrap: str, database_url: str, auth: BrokerAuth = NO_AUTH
) -> BrokerIdentity:
    """Refuse (`BrokerMismatch`) a database whose offsets belong to another broker; record this broker's
    identity when none is (the first run, or a database without broker-bound state)."""
    current = await read_identity(bootstrap, auth=auth)
    assert current is not None  # read_identity writes the epoch when there is none
    conn = await asyncpg.connect(database_url)
    try:
        recorded = await stored.recorded_identity(conn)
        state = await stored.bound_state(conn)
        topics = sorted({topic for topic, _, _ in state.sink_offsets})
        ends = await end_offsets(bootstrap, topics, auth) if topics else {}
        why = mismatch(recorded, current, state, ends)
        if why is not None:
            raise BrokerMismatch(why)
        if recorded is None:
            await stored.record_identity(conn, current.cluster_id, current.epoch)
        elif recorded != (current.cluster_id, current.epoch):  # nothing was bound to the old one
            log.warning(
                "broker identity changed from %s to %s; nothing was bound to the old one", recorded, current
            )
            await stored.reset(conn, current.cluster_id, current.epoch)
    finally:
        await conn.close()
    return current


async def reset_broker_state(
    bootstrap: str, database_url: str, auth: BrokerAuth = NO_AUTH
) -> tuple[BrokerIdentity, stored.BoundState]:
    """Clear what the database holds against any broker and bind it to this one; returns (this broker,
    what was cleared)."""
    current = await read_identity(bootstrap, auth=auth)
    assert current is not None
    conn = await asyncpg.connect(database_url)
    try:
        cleared = await stored.reset(conn, current.cluster_id, current.epoch)
    finally:
        await conn.close()
    return current, cleared
