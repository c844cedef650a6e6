"""Checkpoints round-trip through Postgres (own database per test) and refuse another River version."""

from __future__ import annotations

import logging
import math
import random
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from models import checkpoints
from models.drift import DriftMonitor
from models.online import DelayedLabeler, ModelKind, OnlineModel
from store.migrate import migrate


async def _admin(database_url: str, sql: str) -> None:
    # a short-lived admin connection each time: an idle one held across a long test may be cut
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(sql)
    finally:
        await admin.close()


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    name = f"test_{uuid.uuid4().hex}"
    await _admin(database_url, f'CREATE DATABASE "{name}"')
    try:
        url = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
        await migrate(url)
        connection = await asyncpg.connect(url)
        try:
            yield connection
        finally:
            await connection.close()
    finally:
        await _admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stream(n: int, seed: int) -> list[tuple[int, float, dict[str, float]]]:
    rng = random.Random(seed)
    price, out = 100.0, []
    for i in range(n):
        s = rng.gauss(0.0, 1.0)
        out.append((i * 500, price, {"s": s, "t": rng.gauss(0.0, 1.0)}))
        price *= math.exp(0.001 * s + rng.gauss(0.0, 0.0005))
    return out


@pytest.mark.parametrize("kind", ["linear", "tree"])
async def test_a_restored_model_makes_identical_predictions(
    conn: asyncpg.Connection, kind: ModelKind
) -> None:
    data = stream(1_200, seed=3)
    labeler = DelayedLabeler(
        OnlineModel(warmup=20, kind=kind), label_horizon_ms=1_000, drift=DriftMonitor("SYN", on_count=print)
    )
    for ts, price, x in data[:800]:
        labeler.on_snapshot(ts, price, x)
    size = await checkpoints.save(conn, "SYN/USDC:" + kind, labeler)
    assert size > 0
    row = await conn.fetchrow("SELECT river_version, created_ts_ms FROM model_checkpoints")
    assert row is not None and row["created_ts_ms"] == data[799][0]
    restored = await checkpoints.load(conn, "SYN/USDC:" + kind)
    assert restored is not None
    assert (
        restored.drift is not None and restored.drift.on_count is None
    )  # callbacks are re-attached by the caller
    for ts, price, x in data[800:]:
        assert restored.on_snapshot(ts, price, x) == labeler.on_snapshot(ts, price, x)
    assert restored.metrics() == labeler.metrics()


async def test_missing_and_foreign_version_checkpoints_load_as_none(
    conn: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    assert await checkpoints.load(conn, "nothing") is None
    await checkpoints.save(conn, "k", DelayedLabeler(), created_ts_ms=5)
    await checkpoints.save(conn, "k", DelayedLabeler(), created_ts_ms=6)  # replaces
    assert await conn.fetchval("SELECT count(*) FROM model_checkpoints") == 1
    await conn.execute("UPDATE model_checkpoints SET river_version = '0.1.0'")
    with caplog.at_level(logging.WARNING, logger="models.checkpoints"):
        assert await checkpoints.load(conn, "k") is None
    assert "river 0.1.0" in caplog.text
    assert await checkpoints.delete(conn, "k") is True
    assert await checkpoints.delete(conn, "k") is False
