"""Checkpoints round-trip through Postgres (own database per test) and refuse another River version."""

from __future__ import annotations

import logging
import math
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from models import checkpoints
from models.checkpoint_seal import CheckpointSealer
from models.drift import DriftMonitor
from models.online import DelayedLabeler, ModelKind, OnlineModel
from store.migrate import migrate

SEALER = CheckpointSealer(b"k" * 32)


class Detonator:
    """Unpickling this runs code: what a forged checkpoint row would do to the model agent."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, ("import builtins; builtins.DETONATED = True",))


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
    size = await checkpoints.save(conn, "SYN/USDC:" + kind, labeler, SEALER)
    assert size > 0
    row = await conn.fetchrow("SELECT river_version, created_ts_ms FROM model_checkpoints")
    assert row is not None and row["created_ts_ms"] == data[799][0]
    restored = await checkpoints.load(conn, "SYN/USDC:" + kind, SEALER)
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
    assert await checkpoints.load(conn, "nothing", SEALER) is None
    await checkpoints.save(conn, "k", DelayedLabeler(), SEALER, created_ts_ms=5)
    await checkpoints.save(conn, "k", DelayedLabeler(), SEALER, created_ts_ms=6)  # replaces
    assert await conn.fetchval("SELECT count(*) FROM model_checkpoints") == 1
    await conn.execute("UPDATE model_checkpoints SET river_version = '0.1.0'")
    with caplog.at_level(logging.WARNING, logger="models.checkpoints"):
        assert await checkpoints.load(conn, "k", SEALER) is None
    assert "river 0.1.0" in caplog.text
    assert await checkpoints.delete(conn, "k") is True
    assert await checkpoints.delete(conn, "k") is False


async def test_a_pickle_without_a_valid_seal_is_never_unpickled(
    conn: asyncpg.Connection, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """Database write access is not code execution: an old unsealed pickle, a payload sealed with another
    key, and one moved to another key's row are all ignored (the model retrains), none unpickled."""
    import builtins
    import pickle

    import river

    bomb = pickle.dumps(Detonator())
    insert = (
        "INSERT INTO model_checkpoints (model_key, river_version, created_ts_ms, payload) "
        "VALUES ($1, $2, 0, $3)"
    )
    await conn.execute(insert, "old", river.__version__, bomb)  # a pre-seal checkpoint, or a forged one
    forged = CheckpointSealer(b"x" * 32).seal("other-key", river.__version__, bomb)
    await conn.execute(insert, "other-key", river.__version__, forged)
    await checkpoints.save(conn, "a", DelayedLabeler(), SEALER, created_ts_ms=1)
    moved = await conn.fetchval("SELECT payload FROM model_checkpoints WHERE model_key = 'a'")
    await conn.execute(insert, "b", river.__version__, moved)
    with caplog.at_level(logging.WARNING, logger="models.checkpoint_seal"):
        assert await checkpoints.load(conn, "old", SEALER) is None
        assert await checkpoints.load_partition(conn, "other-key", SEALER) is None
        assert await checkpoints.load(conn, "b", SEALER) is None
    assert not hasattr(builtins, "DETONATED")
    assert "not sealed" in caplog.text and "fails authentication" in caplog.text
    assert await checkpoints.load(conn, "a", SEALER) is not None  # the genuine one still loads


def test_key_file_made_once_private(tmp_path: Path) -> None:
    import stat

    from models.checkpoint_seal import key_from_file

    path = tmp_path / "data" / "model-checkpoint.key"
    key = key_from_file(path)
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key_from_file(path) == key


def test_key_file_is_never_seen_half_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the key is being made, its path holds nothing: a worker started beside this one either finds
    no file (and makes its own, of which one wins) or the whole key (two workers once read it empty)."""
    import secrets

    from models import checkpoint_seal

    path = tmp_path / "model-checkpoint.key"
    seen_while_making: list[bool] = []
    real = secrets.token_bytes

    def token_bytes(n: int) -> bytes:
        seen_while_making.append(path.exists())
        return real(n)

    monkeypatch.setattr(checkpoint_seal.secrets, "token_bytes", token_bytes)
    key = checkpoint_seal.key_from_file(path)
    assert seen_while_making == [False] and len(key) == 32
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # the private draft is gone


def test_workers_starting_together_share_one_key(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    path = tmp_path / "model-checkpoint.key"
    start = time.time() + 1.5
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from models.checkpoint_seal import key_from_file\n"
        f"time.sleep(max(0.0, {start} - time.time()))\n"
        "print(key_from_file(Path(sys.argv[1])).hex())\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [err for _, err in outs]
    assert {out.strip() for out, _ in outs} == {path.read_bytes().hex()}


def test_a_short_key_file_is_refused_in_one_line(tmp_path: Path) -> None:
    from core.errors import ConfigError
    from models.checkpoint_seal import key_from_file

    path = tmp_path / "model-checkpoint.key"
    path.write_bytes(b"short")
    with pytest.raises(ConfigError, match=r"model-checkpoint.key holds 5 bytes, needs at least 32"):
        key_from_file(path)


def test_solbot_run_gives_every_worker_one_checkpoint_key(tmp_path: Path) -> None:
    from core.settings import load_settings
    from solbot.runner import worker_env

    class NoStack:
        def env(self) -> dict[str, str]:
            return {}

    settings = load_settings(data_dir=tmp_path)
    envs = [worker_env(settings, NoStack(), "at_least_once", i, 6066 + i) for i in (0, 1)]  # type: ignore[arg-type]
    assert envs[0]["DATA_DIR"] != envs[1]["DATA_DIR"]
    assert envs[0]["MODEL_CHECKPOINT_KEY_FILE"] == envs[1]["MODEL_CHECKPOINT_KEY_FILE"]
    assert envs[0]["MODEL_CHECKPOINT_KEY_FILE"] == str((tmp_path / "model-checkpoint.key").resolve())
