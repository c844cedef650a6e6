"""The fast control path in Redis: the latest kill-switch control and the cancelled order ids.

The `control` topic stays the durable, replayable source of truth, but a record there waits behind the
signal backlog of the risk agent's batches. So `solbot halt` / `resume` and the API also write the
control here (`solbot:control:<portfolio>`, the encoded `Control`), where

* the risk agent reads it at the start of every batch (`FastControlReader`, cached for 100 ms) and
  applies it at once (idempotent by id and timestamp with the topic's copy), and
* the execution sink refuses buys while it says "halt" (`OrderGate`): a failed fill with reason
  `halted`, a terminal outcome, so nothing is lost; sells still execute.

A manual cancel sets `solbot:cancel:<order id>` (a day's TTL); the sink gives such an order the terminal
outcome `cancelled` instead of executing it. Redis being down fails open (logged): the topic's halt still
reaches risk, only later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from core.errors import DecodeError
from core.logs import OutageLog
from streams.codec import decode, encode
from streams.records import Control, Order

log = logging.getLogger(__name__)

CONTROL_PREFIX = "solbot:control:"
CANCEL_PREFIX = "solbot:cancel:"
CANCEL_TTL_S = 86_400
CACHE_S = 0.1
HALTED = "halted"  # the fill reason of a buy refused while halted
CANCELLED = "cancelled"  # the fill status (and reason code) of a cancelled order


def control_key(portfolio: str) -> str:
    return f"{CONTROL_PREFIX}{portfolio}"


def cancel_key(order_id: str) -> str:
    return f"{CANCEL_PREFIX}{order_id}"


async def set_fast_control(redis: aioredis.Redis, portfolio: str, control: Control) -> None:
    """Make `control` (a halt or resume) the portfolio's current one for the fast path."""
    await redis.set(control_key(portfolio), encode(control))


async def get_fast_control(redis: aioredis.Redis, portfolio: str) -> Control | None:
    raw = await redis.get(control_key(portfolio))
    return _decode_control(raw)


def _decode_control(raw: bytes | str | None) -> Control | None:
    if raw is None:
        return None
    try:
        return decode(Control, raw.encode() if isinstance(raw, str) else raw)
    except DecodeError as exc:
        log.error("fast control key holds no valid control: %s", exc)
        return None


async def request_cancel(redis: aioredis.Redis, order_id: str, reason: str) -> None:
    """Mark an order cancelled for the sink (kept a day: an order older than that is long terminal)."""
    await redis.set(cancel_key(order_id), reason, ex=CANCEL_TTL_S)


class FastControlReader:
    """The risk agent's view of the fast control key, read at most every 100 ms."""

    def __init__(self, redis_url: str | None, portfolio: str) -> None:
        self._url = redis_url
        self._portfolio = portfolio
        self._redis: aioredis.Redis | None = None
        self._read_at = -1.0
        self._control: Control | None = None
        self._outage = OutageLog(log, "fast control not read (the topic's copy still applies)")

    async def latest(self) -> Control | None:
        if self._url is None:
            return None
        now = time.monotonic()
        if now - self._read_at < CACHE_S:
            return self._control
        self._read_at = now
        try:
            if self._redis is None:
                self._redis = aioredis.Redis.from_url(self._url)
            self._control = await get_fast_control(self._redis, self._portfolio)
        except (RedisError, OSError) as exc:
            self._outage.failed(exc)
        else:
            self._outage.succeeded()
        return self._control


class OrderGate:
    """What the execution sink must not execute: buys while halted, and cancelled orders.

    Called inside the sink's transaction, after the batch's orders are recorded and before any executes;
    returns order id -> (status, reason) of the refused ones.
    """

    def __init__(self, redis_url: str, portfolio: str) -> None:
        self._url = redis_url
        self._portfolio = portfolio
        self._redis: aioredis.Redis | None = None

    async def __call__(self, orders: Sequence[Order]) -> dict[str, tuple[str, str]]:
        if not orders:
            return {}
        try:
            if self._redis is None:
                self._redis = aioredis.Redis.from_url(self._url)
            keys = [control_key(self._portfolio)] + [cancel_key(o.id) for o in orders]
            values = await self._redis.mget(keys)
        except (RedisError, OSError) as exc:
            log.warning("order gate not read, executing the batch as decided: %s", exc)
            return {}
        return refusals(orders, _decode_control(values[0]), values[1:])


def refusals(
    orders: Sequence[Order], control: Control | None, cancels: Sequence[bytes | str | None]
) -> dict[str, tuple[str, str]]:
    """Order id -> (fill status, reason) for each order to refuse; a cancel wins over a halt."""
    halted = control is not None and control.action == "halt"
    out: dict[str, tuple[str, str]] = {}
    for order, cancel in zip(orders, cancels, strict=True):
        if cancel is not None:
            why = cancel.decode() if isinstance(cancel, bytes) else cancel
            out[order.id] = (CANCELLED, f"{CANCELLED}: {why}")
        elif halted and order.side == "buy":
            assert control is not None
            out[order.id] = ("failed", f"{HALTED}: {control.reason or 'operator'}")
    return out
