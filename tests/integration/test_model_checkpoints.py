"""Model checkpoints on the real stack: a restarted worker continues learning from its checkpoint."""

from __future__ import annotations

import time

import asyncpg
import pytest

from core.settings import Settings
from models.checkpoint_seal import CheckpointSealer
from models.checkpoints import PartitionCheckpoint, load_partition
from services.process import terminate
from services.stack import Stack
from tests.integration.harness import running_pipeline, until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def _checkpoints(
    database_url: str, sealer: CheckpointSealer
) -> dict[str, tuple[int, PartitionCheckpoint]]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT model_key, created_ts_ms FROM model_checkpoints")
        out = {}
        for row in rows:
            checkpoint = await load_partition(conn, row["model_key"], sealer)
            assert checkpoint is not None
            out[row["model_key"]] = (int(row["created_ts_ms"]), checkpoint)
        return out
    finally:
        await conn.close()


def _labels(saved: dict[str, tuple[int, PartitionCheckpoint]]) -> int:
    return sum(cp.labels for _, cp in saved.values())


async def test_a_restarted_worker_continues_learning_from_the_checkpoint(
    fresh_stack: Stack, fresh_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_CHECKPOINT_INTERVAL_S", "2")
    db = fresh_stack.database_url
    saved: dict[str, tuple[int, PartitionCheckpoint]] = {}
    async with running_pipeline(fresh_settings, fresh_stack, seed=5, rate_eps=300, duration_s=120) as p:

        async def learned(minimum: int) -> bool:
            nonlocal saved
            saved = await _checkpoints(db, CheckpointSealer.for_settings(fresh_settings))
            return _labels(saved) >= minimum

        deadline = time.monotonic() + 90
        while not await learned(300) and time.monotonic() < deadline:
            await until(lambda: False, 1.0)
        assert _labels(saved) >= 300, f"checkpoints hold only {_labels(saved)} labels"
        terminate(p.worker.proc.pid, timeout_s=15)
        before = await _checkpoints(db, CheckpointSealer.for_settings(fresh_settings))
        restarted_ms = int(time.time() * 1000)
        p.restart_worker()
        deadline = time.monotonic() + 90
        after: dict[str, tuple[int, PartitionCheckpoint]] = {}
        while time.monotonic() < deadline:
            after = await _checkpoints(db, CheckpointSealer.for_settings(fresh_settings))
            fresh = {k: v for k, v in after.items() if v[0] > restarted_ms}
            if fresh and len(fresh) == len(before):
                break
            await until(lambda: False, 1.0)
        log = p.worker.log_path.read_text()
    assert "model checkpoint restored" in log
    for key, (_, old) in before.items():
        created, new = after[key]
        assert created > restarted_ms, f"{key} was not saved after the restart"
        # the models kept what they had learned: a fresh model would restart from 0 labels
        assert new.labels >= old.labels > 0, (key, old.labels, new.labels)
        assert new.offset >= old.offset
    print(f"labels before the restart {_labels(before)}, after {sum(v[1].labels for v in after.values())}")
