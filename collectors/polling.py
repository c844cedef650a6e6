"""The poll loop the HTTP collectors share (Jupiter, Drift): poll, count a failure, wait, again.

Rate limits and retries belong to the HTTP client (`collectors/http.py`); this loop only makes sure a
failed poll costs one interval, never the collector, and that cancellation always gets through.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from collectors.metrics import COLLECTOR_EVENTS
from core.errors import SolbotError

log = logging.getLogger(__name__)


async def poll_forever(
    poll_once: Callable[[], Awaitable[object]],
    *,
    source: str,
    poll_s: float,
    on_error: Callable[[SolbotError], None],
) -> None:
    """Call `poll_once` every `poll_s` seconds until cancelled. A `SolbotError` is handed to
    `on_error`, counted under `solbot_collector_events_total{source, outcome="error"}` and logged; the
    next poll goes ahead. Anything else is a bug and propagates."""
    while True:
        try:
            await poll_once()
        except asyncio.CancelledError:
            raise
        except SolbotError as exc:
            on_error(exc)
            COLLECTOR_EVENTS.labels(source, "error").inc()
            log.warning("%s poll failed: %s", source, exc)
        await asyncio.sleep(poll_s)
