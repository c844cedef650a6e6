"""How long the event-time merges wait for a silent partition (streams/event_order.py): the model agent's
over the features partitions it reads, the risk agent's over the signals of every features partition
(agents/signal_merge.py). Declared apart from `Settings`, which inherits them (environment keys = field
names)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MergeSettings(BaseModel):
    """Waiting exactly (the same output in every run) against waiting forever (a stalled writer)."""

    model_config = ConfigDict(frozen=True)

    # A features partition silent this long (wall time) stops holding the event-time merge back; the longer
    # wait applies to partitions whose source sends progress records (streams/event_order.py).
    model_idle_partition_ms: int = Field(
        500,
        ge=10,
        le=60_000,
        description=(
            "wall time after which a silent features partition whose source sends no progress records stops "
            "holding the event-time merge back"
        ),
    )
    model_progress_idle_ms: int = Field(
        10_000,
        ge=10,
        le=600_000,
        description=(
            "the same for a partition whose source sends progress records (and one not heard from since its "
            "assignment)"
        ),
    )

    # Every features partition's signals reach risk merged in event time, whichever worker's model sent
    # them; a partition whose model has gone silent (a worker killed, paused or catching up) holds the
    # others back this long, then risk decides without it (and the order may differ from a calm run's).
    risk_merge_idle_ms: int = Field(
        5_000,
        ge=0,
        le=600_000,
        description=(
            "wall time after which a features partition whose model sent no signal or progress stops holding "
            "the risk agent's event-time merge of the signals back (0: signals are decided in log order)"
        ),
    )
