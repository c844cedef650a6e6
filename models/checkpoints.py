"""Model checkpoints in Postgres (`model_checkpoints`): a `DelayedLabeler` (or a features partition's whole
model state, `PartitionCheckpoint`) pickled with its River version, sealed with an HMAC
(`models.checkpoint_seal`): only a payload whose seal verifies is ever unpickled.

A River model's pickle is only meaningful to the River version that wrote it (internal classes change
between releases), so `load` refuses a checkpoint from another version, logs why, and returns None: the
caller starts a fresh model rather than one that silently predicts garbage. Drift callbacks are not
pickled (`DriftMonitor.__getstate__`); re-attach them after a load. An unsealed (older) or forged
checkpoint is ignored with a warning, like another River version's: the model retrains.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import river

from core.errors import DecodeError
from models.checkpoint_seal import CheckpointSealer
from models.online import DelayedLabeler

log = logging.getLogger(__name__)

_UPSERT = """
INSERT INTO model_checkpoints (model_key, river_version, created_ts_ms, payload)
VALUES ($1, $2, $3, $4)
ON CONFLICT (model_key) DO UPDATE
SET river_version = EXCLUDED.river_version, created_ts_ms = EXCLUDED.created_ts_ms, payload = EXCLUDED.payload
"""


async def save(
    conn: asyncpg.Connection,
    key: str,
    labeler: DelayedLabeler,
    sealer: CheckpointSealer,
    created_ts_ms: int | None = None,
) -> int:
    """Store (or replace) `key`'s checkpoint; returns the payload size in bytes.

    `created_ts_ms` defaults to the labeler's latest event time (0 before any snapshot), not the wall clock,
    so a replay writes the same row.
    """
    data = pickle.dumps(labeler, protocol=pickle.HIGHEST_PROTOCOL)
    payload = sealer.seal(key, river.__version__, data)
    ts = created_ts_ms if created_ts_ms is not None else (labeler.last_ts_ms or 0)
    await conn.execute(_UPSERT, key, river.__version__, ts, payload)
    return len(payload)


async def _fetch(conn: asyncpg.Connection, key: str, sealer: CheckpointSealer) -> object | None:
    """`key`'s unpickled payload, or None if there is none, another River version wrote it, or its seal
    does not verify (then nothing is unpickled)."""
    row = await conn.fetchrow(
        "SELECT river_version, created_ts_ms, payload FROM model_checkpoints WHERE model_key = $1", key
    )
    if row is None:
        return None
    if row["river_version"] != river.__version__:
        log.warning(
            "model checkpoint %s was written by river %s, this is river %s: not loaded, model starts afresh",
            key,
            row["river_version"],
            river.__version__,
        )
        return None
    data = sealer.open(key, row["river_version"], bytes(row["payload"]))
    if data is None:
        return None
    try:
        return pickle.loads(data)  # authenticated: written by a holder of the key
    except (pickle.UnpicklingError, AttributeError, ImportError, EOFError, TypeError) as exc:
        raise DecodeError(f"model checkpoint {key!r} cannot be unpickled: {exc}") from exc


async def load(conn: asyncpg.Connection, key: str, sealer: CheckpointSealer) -> DelayedLabeler | None:
    """`key`'s labeler, or None if there is none, it was written by another River version, or unsealed."""
    labeler = await _fetch(conn, key, sealer)
    if labeler is None:
        return None
    if not isinstance(labeler, DelayedLabeler):
        raise DecodeError(f"model checkpoint {key!r} holds a {type(labeler).__name__}, not a DelayedLabeler")
    return labeler


@dataclass
class PartitionCheckpoint:
    """Everything the model agent learned from one features partition, and the last offset it reflects.

    Restoring it and resuming the partition at `offset + 1` continues exactly where the checkpoint stopped:
    the labelers (models, pending labels, metrics, drift monitors), the pairs' bandits, the strategies'
    per-pair state and the signals still waiting for their attribution horizon.
    """

    offset: int
    labelers: dict[str, DelayedLabeler]
    strategy_state: dict[str, dict[str, Any]] = field(default_factory=dict)  # strategy -> pair -> state
    emitted: dict[str, list[Any]] = field(default_factory=dict)  # pair -> signals awaiting attribution
    stepped: dict[str, int] = field(default_factory=dict)  # pair -> event time of its last snapshot scored
    # pair -> its bandit: a worker that takes the partition over resumes the pairs' cycles and draws.
    allocators: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> int:
        """Labels learned by all its models (what a restart must not lose)."""
        return sum(int(lab.metrics()["n_labels"]) for lab in self.labelers.values())


def dump_partition(checkpoint: PartitionCheckpoint) -> bytes:
    """The payload of a partition checkpoint; taken synchronously, so no other coroutine can change the
    models between the state and the offset it is saved with."""
    return pickle.dumps(checkpoint, protocol=pickle.HIGHEST_PROTOCOL)


async def save_partition(
    conn: asyncpg.Connection, key: str, data: bytes, created_ts_ms: int, sealer: CheckpointSealer
) -> int:
    """Store (or replace) a partition's checkpoint (`dump_partition`'s bytes, sealed here); its size."""
    payload = sealer.seal(key, river.__version__, data)
    await conn.execute(_UPSERT, key, river.__version__, created_ts_ms, payload)
    return len(payload)


async def load_partition(
    conn: asyncpg.Connection, key: str, sealer: CheckpointSealer
) -> PartitionCheckpoint | None:
    """`key`'s partition checkpoint, or None (none, another River version's, or not sealed by our key)."""
    checkpoint = await _fetch(conn, key, sealer)
    if checkpoint is None:
        return None
    if not isinstance(checkpoint, PartitionCheckpoint):
        raise DecodeError(f"model checkpoint {key!r} holds a {type(checkpoint).__name__}, not a partition")
    return checkpoint


async def delete(conn: asyncpg.Connection, key: str) -> bool:
    """Drop `key`'s checkpoint (an operator's reset); True if there was one."""
    return bool(await conn.fetchval("DELETE FROM model_checkpoints WHERE model_key = $1 RETURNING 1", key))
