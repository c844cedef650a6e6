"""The one compatibility layer between the bot, Faust and the broker; installed by a worker at start-up.

Everything that reaches into Faust's private API, or works around a broker, is in this package:

- `seeks`: resume hooks (agents say where their partitions resume) and the seek guard that makes every
  seek exact (Faust's fetch loop otherwise hands over records fetched before a seek);
- `tansu`: the fetch-wait override and exact recovery end offsets, only when the broker is Tansu;
- `tables`: Faust tables as batch-view tables (`send_changelog`, key expiry, `data`);
- `consumer`: read offsets, assignment and high watermarks for the worker's views;
- `dead_letters`: dead-letter sends straight to the app's producer.

Plain Kafka clients that need no Faust (the bootstrap address, end offsets, the transactions probe,
topic creation) are in `streams.broker`. Nothing here acts at import: `install(app, ...)` wraps the one
consumer this app creates (its instance, never a class), so import order does not matter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from streams.compat.seeks import ResumeHooks, SeekGuard
from streams.compat.tansu import install_tansu_workarounds

log = logging.getLogger(__name__)

BrokerKind = Literal["kafka", "tansu"]


@dataclass
class Compat:
    """What `install` put on an app: its resume hooks, and the seek guard of its consumer once created."""

    broker_kind: BrokerKind
    hooks: ResumeHooks = field(default_factory=ResumeHooks)
    guard: SeekGuard | None = None


def install(app: Any, *, broker_kind: BrokerKind, bootstrap: str, fetch_max_wait_ms: int) -> Compat:
    """Make `app`'s consumer, when the app creates it, guard its seeks and run the resume hooks; on
    Tansu, also use our fetch wait and exact recovery end offsets. Call before the app starts."""
    compat = Compat(broker_kind)
    new_consumer = app._new_consumer

    def create_consumer() -> Any:
        consumer = new_consumer()
        compat.guard = SeekGuard(compat.hooks)
        compat.guard.attach(consumer)
        if broker_kind == "tansu":
            install_tansu_workarounds(
                consumer._thread, bootstrap=bootstrap, fetch_max_wait_ms=fetch_max_wait_ms
            )
        return consumer

    app._new_consumer = create_consumer
    log.info("compatibility layer installed for a %s broker", broker_kind)
    return compat
