"""`solbot halt [--reason TEXT] [--flatten]` / `solbot resume`: the kill switch.

Publishes one `Control` record to the `control` topic (key = portfolio, one partition), which the risk
agent consumes with its signals and fills: after a halt every new buy is rejected (`halted`), and with
`--flatten` every position is sold. `resume` clears a manual halt only; breaker halts (drawdown, daily
drawdown, stale prices) keep theirs. Prints the record sent as JSON.

The same record is first written to Redis (`store.order_gate`, when a Redis URL is known): the risk agent
reads it at the start of every batch and the execution sink refuses buys while it says halt, so a halt
takes effect within a second even when the worker is saturated and the topic's copy waits behind a
backlog. The topic stays the durable, replayable source of truth.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from typing import Any

import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from core.errors import ServiceError
from core.settings import Settings
from services.reachable import require_reachable
from services.stack import services_status
from solbot.cli_audit import audit_cli_action
from store.order_gate import set_fast_control
from streams.broker import bootstrap_of, create_topics
from streams.broker_auth import NO_AUTH, BrokerAuth, broker_auth
from streams.codec import encode
from streams.records import Control
from streams.topics import CONTROL


def add_parser(subparsers: Any) -> None:
    """Add `halt` and `resume` to the `solbot` sub-commands."""
    halt = subparsers.add_parser(
        "halt", help="kill switch: reject every new buy (optionally sell everything)"
    )
    halt.add_argument("--reason", default="operator", help="why (recorded in every rejection)")
    halt.add_argument("--flatten", action="store_true", help="also sell every position")
    subparsers.add_parser("resume", help="clear a manual halt (breaker halts stay)")


def control_record(action: str, reason: str, flatten: bool, ts_ms: int | None = None) -> Control:
    ts = int(time.time() * 1000) if ts_ms is None else ts_ms
    return Control(
        id=f"ctl:{action}:{ts}:{uuid.uuid4().hex[:8]}",
        action=action,
        reason=reason,
        flatten=flatten,
        ts_ms=ts,
    )


async def publish(
    bootstrap: str, portfolio: str, control: Control, default_partitions: int, auth: BrokerAuth = NO_AUTH
) -> None:
    """Send one control record and wait for the broker's ack (creating the topic if it is missing)."""
    await create_topics(bootstrap, default_partitions, auth)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, **auth)
    await producer.start()
    try:
        await producer.send_and_wait(CONTROL.name, value=encode(control), key=portfolio.encode())
    finally:
        await producer.stop()


async def set_fast(redis_url: str, portfolio: str, control: Control) -> None:
    """Write the control to the Redis fast path (closing the client whatever happens)."""
    redis = aioredis.Redis.from_url(redis_url)
    try:
        await set_fast_control(redis, portfolio, control)
    finally:
        await redis.aclose()


def main(settings: Settings, args: argparse.Namespace) -> int:
    status = services_status(settings)
    url, running = status["broker"]
    if not url or not running:
        print("solbot: no broker: set BROKER_URL or start one with `solbot services up`", file=sys.stderr)
        return 1
    if args.command == "halt":
        control = control_record("halt", args.reason, args.flatten)
    else:
        control = control_record("resume", "", False)
    redis_url, redis_running = status["redis"]
    notes: list[str] = []  # said once, with the outcome, so a failure stays one line
    if redis_url and redis_running:
        try:
            asyncio.run(set_fast(redis_url, settings.portfolio, control))
        except (RedisError, OSError) as exc:
            notes.append(f"fast path not set ({exc})")
    else:
        notes.append(f"no Redis: the {args.command} waits for the risk agent's backlog")
    # After the fast path (the halt is already in force), before the topic. The kill switch goes ahead
    # without its audit row; the operator is told, with the outcome.
    unaudited = audit_cli_action(
        settings, args.command, "", {"reason": control.reason, "flatten": control.flatten, "id": control.id}
    )
    note = "; ".join([unaudited, *notes] if unaudited else notes)
    try:
        require_reachable("BROKER_URL", url)
        auth = broker_auth(settings)
        asyncio.run(publish(bootstrap_of(url), settings.portfolio, control, settings.topic_partitions, auth))
    except (KafkaError, OSError, ServiceError) as exc:
        print(f"solbot: {args.command} not sent: {exc}" + (f"; {note}" if note else ""), file=sys.stderr)
        return 1
    if note:
        print(
            f"solbot: {note}" + ("; the control record still applies" if redis_url else ""), file=sys.stderr
        )
    print(encode(control).decode())
    return 0
