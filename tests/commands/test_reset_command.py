"""The start-up check that the database belongs to this broker, and `solbot reset` (solbot/identity.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from core.errors import BrokerMismatch
from services.stack import Stack
from solbot.identity import check_broker_identity, mismatch, reset_broker_state
from store import broker_identity as stored
from streams.broker import bootstrap_of
from streams.identity import BrokerIdentity, read_identity
from tests.store.conftest import fresh_database_url, migrated_url  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration

HERE = BrokerIdentity("cluster-a", "epoch-1")
BOUND = stored.BoundState(sink_offsets=(("orders", 0, 12),), checkpoints=2, unpublished_fills=0)
NOTHING = stored.BoundState(sink_offsets=(), checkpoints=0, unpublished_fills=0)


def test_the_same_broker_with_its_data_passes() -> None:
    assert mismatch(("cluster-a", "epoch-1"), HERE, BOUND, {("orders", 0): 12}) is None
    assert mismatch(None, HERE, BOUND, {("orders", 0): 40}) is None  # a database from before identities


def test_another_broker_is_refused_naming_the_reset() -> None:
    why = mismatch(("cluster-a", "epoch-0"), HERE, BOUND, {("orders", 0): 100})
    assert why is not None and "another broker" in why and "solbot reset --yes" in why
    assert "epoch-0" in why and "epoch-1" in why and "\n" not in why


def test_offsets_past_the_end_are_refused_even_without_a_recorded_identity() -> None:
    why = mismatch(None, HERE, BOUND, {})
    assert why is not None and "orders[0] resumes at 12, the topic ends at 0" in why
    assert "solbot reset --yes" in why


def test_nothing_bound_means_any_broker_will_do() -> None:
    assert mismatch(("other", "e"), HERE, NOTHING, {}) is None


async def _bind(url: str, identity: tuple[str, str], next_offset: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await stored.record_identity(conn, *identity)
        await conn.execute(
            "INSERT INTO sink_offsets (consumer, topic, partition, next_offset)"
            " VALUES ('s', 'orders', 0, $1)",
            next_offset,
        )
    finally:
        await conn.close()


async def _recorded(url: str) -> tuple[str, str] | None:
    conn = await asyncpg.connect(url)
    try:
        return await stored.recorded_identity(conn)
    finally:
        await conn.close()


async def test_the_first_start_records_the_broker_then_passes(broker_url: str, migrated_url: str) -> None:  # noqa: F811
    bootstrap = bootstrap_of(broker_url)
    current = await check_broker_identity(bootstrap, migrated_url)
    assert await _recorded(migrated_url) == (current.cluster_id, current.epoch)
    assert await check_broker_identity(bootstrap, migrated_url) == current


async def test_a_mismatch_is_refused_until_a_reset(broker_url: str, migrated_url: str) -> None:  # noqa: F811
    bootstrap = bootstrap_of(broker_url)
    await _bind(migrated_url, ("gone", "lost-epoch"), next_offset=5)
    with pytest.raises(BrokerMismatch, match="solbot reset --yes"):
        await check_broker_identity(bootstrap, migrated_url)

    current, cleared = await reset_broker_state(bootstrap, migrated_url)

    assert cleared.sink_offsets == (("orders", 0, 5),)
    assert await _recorded(migrated_url) == (current.cluster_id, current.epoch)
    assert await check_broker_identity(bootstrap, migrated_url) == current


def _solbot(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "solbot.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


async def test_run_refuses_with_one_line_and_reset_yes_clears(
    stack: Stack,
    migrated_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    current = await read_identity(bootstrap_of(stack.broker_url))
    assert current is not None
    await _bind(migrated_url, (current.cluster_id, "an-epoch-of-lost-data"), next_offset=3)
    env = {
        "BROKER_URL": stack.broker_url,
        "DATABASE_URL": migrated_url,
        "REDIS_URL": stack.redis_url,
        "DATA_DIR": str(tmp_path),
    }

    refused = _solbot(["run", "--duration", "5"], env)
    assert refused.returncode == 3, refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "solbot reset --yes" in lines[0], refused.stderr

    unsure = _solbot(["reset"], env)
    assert unsure.returncode == 2 and "--yes" in unsure.stderr and unsure.stdout == ""  # a refusal: stderr
    assert await _recorded(migrated_url) == (current.cluster_id, "an-epoch-of-lost-data")

    done = _solbot(["reset", "--yes"], env)
    assert done.returncode == 0, done.stderr
    assert "cleared 1 sink offset(s)" in done.stdout and current.epoch in done.stdout
    assert await _recorded(migrated_url) == (current.cluster_id, current.epoch)
