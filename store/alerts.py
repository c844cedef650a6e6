"""Operator alerts in a Redis list (`solbot:alerts`), newest first, capped so it never grows forever.

Any part of solbot may call `raise_alert`; the API lists them (`GET /api/v1/alerts`) and the WebSocket
bridge forwards new ones to subscribed clients, and `on_raised` (the worker's `notify.sender.Notifier`)
sends them on to a webhook or Telegram.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

import redis.asyncio as aioredis

ALERTS_KEY = "solbot:alerts"
MAX_ALERTS = 10_000
Level = Literal["info", "warning", "error", "critical"]
LEVELS: tuple[str, ...] = ("info", "warning", "error", "critical")


async def raise_alert(
    redis: aioredis.Redis,
    level: Level,
    code: str,
    message: str,
    *,
    on_raised: Callable[[dict[str, Any]], object] | None = None,
) -> dict[str, Any]:
    """Record one alert (LPUSH then LTRIM, in one transaction), then hand it to `on_raised` (a quick,
    non-blocking hook: the notifier queues it); returns what was stored."""
    if level not in LEVELS:
        raise ValueError(f"alert level must be one of {LEVELS}")
    ts_ms = int(time.time() * 1000)
    alert = {
        "id": f"{ts_ms}-{uuid.uuid4().hex[:12]}",
        "ts_ms": ts_ms,
        "level": level,
        "code": code,
        "message": message,
    }
    pipe = redis.pipeline(transaction=True)
    pipe.lpush(ALERTS_KEY, json.dumps(alert))
    pipe.ltrim(ALERTS_KEY, 0, MAX_ALERTS - 1)
    await pipe.execute()
    if on_raised is not None:
        on_raised(alert)
    return alert


async def read_alerts(
    redis: aioredis.Redis, *, offset: int = 0, limit: int = 50
) -> tuple[list[dict[str, Any]], int]:
    """A page of alerts, newest first, and the total kept; unreadable entries are skipped."""
    pipe = redis.pipeline(transaction=False)
    pipe.lrange(ALERTS_KEY, offset, offset + limit - 1)
    pipe.llen(ALERTS_KEY)
    raw, total = await pipe.execute()
    alerts: list[dict[str, Any]] = []
    for item in raw:
        try:
            alert = json.loads(item)
        except ValueError:
            continue
        if isinstance(alert, dict):
            alerts.append(alert)
    return alerts, int(total)
