"""The producers of the WebSocket bridge: a group-less Kafka consumer and a Redis poller.

The consumer joins no group and starts at the latest offsets: the bridge shows what happens from now on
and must never steal partitions from (or commit offsets for) the workers. Both loops survive outages
of their source (they log, wait and retry) and re-raise `CancelledError` so shutdown is prompt.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer
from redis.exceptions import RedisError

from store.alerts import read_alerts
from store.latest_prices import read_prices
from streams.broker import bootstrap_of
from streams.broker_auth import NO_AUTH, BrokerAuth
from streams.records import PROGRESS_KEY
from streams.topics import FILLS, ORDERS, SIGNALS
from web.bridge import Bridge

log = logging.getLogger(__name__)

TOPIC_TO_CHANNEL = {SIGNALS.name: "signals", ORDERS.name: "orders", FILLS.name: "fills"}


def decode_record(value: bytes | None) -> dict[str, Any] | None:
    """A Faust JSON record as a plain dict (its `__faust` metadata removed); None if not JSON."""
    if value is None:
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    data.pop("__faust", None)
    return data


async def pump_topics(
    bridge: Bridge, broker_url: str, *, fetch_max_wait_ms: int = 100, auth: BrokerAuth = NO_AUTH
) -> None:
    """Forward signals, orders and fills to the bridge until cancelled."""
    task = asyncio.current_task()
    while task is None or not task.cancelling():  # a cancel the client library swallowed still ends it
        consumer = AIOKafkaConsumer(
            *TOPIC_TO_CHANNEL,
            bootstrap_servers=bootstrap_of(broker_url),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            fetch_max_wait_ms=fetch_max_wait_ms,
            **auth,
        )
        try:
            await consumer.start()
            async for record in consumer:
                channel = TOPIC_TO_CHANNEL.get(record.topic)
                if record.key == PROGRESS_KEY:
                    continue  # the models' progress records on `signals` are for the risk agent
                data = decode_record(record.value)
                if channel is not None and data is not None:
                    bridge.publish(channel, data)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # broker down or restarting: the bridge waits rather than dies
            log.warning("bridge consumer failed (%s); retrying in 2 s", exc)
            await asyncio.sleep(2.0)
        finally:
            await consumer.stop()


async def poll_redis(
    bridge: Bridge, redis: aioredis.Redis, *, interval_s: float = 1.0, status_every: int = 5
) -> None:
    """Every `interval_s`: latest prices; new alerts; every `status_every` ticks, the bridge status."""
    last_alert_id: str | None = None
    first = True
    tick = 0
    while True:
        try:
            if bridge.subscribers("prices"):
                prices = await read_prices(redis)
                if prices:
                    bridge.publish("prices", prices)
            alerts, _ = await read_alerts(redis, limit=100)
            fresh = []
            for alert in alerts:
                if alert.get("id") == last_alert_id:
                    break
                fresh.append(alert)
            if alerts:
                last_alert_id = alerts[0].get("id")
            if not first:  # the first read only sets the mark: alerts raised before we started are old
                for alert in reversed(fresh):
                    bridge.publish("alerts", alert)
            first = False
            if tick % status_every == 0 and bridge.subscribers("status"):
                await redis.ping()
                bridge.publish(
                    "status", {"ts_ms": int(time.time() * 1000), "redis": True, "clients": bridge.clients}
                )
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError, ValueError) as exc:
            log.warning("bridge Redis poll failed: %s", exc)
        tick += 1
        await asyncio.sleep(interval_s)
