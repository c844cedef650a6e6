"""Reading a run back from its topics and database, to check the exactly-once invariants (tests, chaos)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from store.audit import filled_base_by_pair, orders_executed_more_than_once
from store.portfolio import read_positions
from streams.broker import true_end_offsets
from streams.broker_auth import NO_AUTH, BrokerAuth
from streams.inspect import broker_partitions
from streams.records import PROGRESS_KEY


async def read_committed_records(
    bootstrap: str, topic: str, auth: BrokerAuth = NO_AUTH
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every committed record of a topic, as a read_committed agent sees it (records of aborted
    transactions are not there; under at-least-once that is every record), partition by partition.

    Ends are taken from fetch high watermarks (Tansu-safe). A partition is read once its position reaches
    the end, never once a record's offset does: under exactly-once the last offset of a partition is
    usually the commit marker that ended its last transaction, which a reader never receives as a record.
    One whose position stays at its last stable offset for 2 s is done too (the rest is an open
    transaction).
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=20,
        isolation_level="read_committed",
        **auth,
    )
    await consumer.start()
    try:
        tps = await broker_partitions(consumer, [topic])
        if not tps:
            return []
        listed = await consumer.end_offsets(tps)
        ends = await true_end_offsets(bootstrap, tps, listed, auth)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        out: list[ConsumerRecord[bytes, bytes]] = []
        remaining = {tp for tp in tps if ends[tp] > 0}
        loop = asyncio.get_running_loop()
        stable_since: dict[Any, float] = {}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=500)
            for records in batch.values():
                out.extend(records)
            now = loop.time()
            for tp in list(remaining):
                position = await consumer.position(tp)
                stable = consumer.last_stable_offset(tp)
                if position >= ends[tp]:
                    remaining.discard(tp)
                elif batch.get(tp) or stable is None or position < stable:
                    stable_since.pop(tp, None)
                elif now - stable_since.setdefault(tp, now) >= 2.0:
                    remaining.discard(tp)
        return out
    finally:
        await consumer.stop()


async def read_topic(bootstrap: str, topic: str, auth: BrokerAuth = NO_AUTH) -> list[dict[str, Any]]:
    """Every committed record of a topic (`read_committed_records`), decoded; `{"_raw": True}` for a
    value that is not a JSON object. Progress records (`PROGRESS_KEY`: event-time marks for the merges of
    the agents reading the topic) are left out."""
    out: list[dict[str, Any]] = []
    for rec in await read_committed_records(bootstrap, topic, auth):
        if rec.key == PROGRESS_KEY:
            continue
        try:
            value = orjson.loads(rec.value or b"null")
        except orjson.JSONDecodeError:
            value = {"_raw": True}
        out.append(value if isinstance(value, dict) else {"_raw": True})
    return out


def decision_id(order_id: str) -> str:
    """The decision an order belongs to: a split buy's legs `ord:{signal}/leg{n}` share `ord:{signal}`."""
    head, sep, tail = order_id.rpartition("/leg")
    return head if sep and tail.isdigit() else order_id


@dataclass
class Audit:
    signals: int = 0
    decisions: int = 0
    orders: int = 0
    terminal: int = 0
    duplicates: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    position_mismatches: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.duplicates or self.missing or self.position_mismatches)


def _distinct(records: list[dict[str, Any]], key: str, audit: Audit, what: str) -> dict[str, dict[str, Any]]:
    """Records by id; the same id published twice must carry the same decision."""
    seen: dict[str, dict[str, Any]] = {}
    for rec in records:
        rid = str(rec.get(key))
        if rid in seen:
            a, b = dict(seen[rid]), dict(rec)
            for volatile in ("decided_ms", "filled_ms"):
                a.pop(volatile, None)
                b.pop(volatile, None)
            if a != b:
                audit.duplicates.append(f"{what} {rid} published twice with different contents")
        else:
            seen[rid] = rec
    return seen


async def audit_run(bootstrap: str, database_url: str, portfolio: str, auth: BrokerAuth = NO_AUTH) -> Audit:
    audit = Audit()
    # A restarted worker's model (not yet checkpointed) may re-emit a signal id with other contents;
    # what must hold is that the risk agent decides each signal id once, checked below.
    # Price marks (`mark:` ids, direction 0) ride on `signals` so risk checks stops on every price; risk
    # decides nothing on them (no order, no rejection), so they are not signals to account for here.
    every_signal = await read_topic(bootstrap, "signals", auth)
    audit.missing.extend(unscored(await read_topic(bootstrap, "features", auth), every_signal))
    signals = {str(s.get("id")): s for s in every_signal if not str(s.get("id", "")).startswith("mark:")}
    orders = _distinct(await read_topic(bootstrap, "orders", auth), "id", audit, "order")
    rejections = _distinct(await read_topic(bootstrap, "orders.rejected", auth), "id", audit, "rejection")
    fills = _distinct(await read_topic(bootstrap, "fills", auth), "order_id", audit, "fill")
    audit.signals = len(signals)
    audit.orders = len(orders)
    audit.terminal = len(fills)

    decisions: dict[str, list[str]] = defaultdict(list)
    for order in orders.values():
        if order.get("kind") == "entry" or str(order.get("id", "")).startswith("ord:"):
            decision = decision_id(str(order["id"]))
            if decision not in decisions[str(order["signal_id"])]:  # a split's legs are one decision
                decisions[str(order["signal_id"])].append(decision)
    for rej in rejections.values():
        decisions[str(rej["signal_id"])].append(str(rej["id"]))
    audit.decisions = sum(len(v) for v in decisions.values())
    for sid in signals:
        got = decisions.get(sid, [])
        if not got:
            audit.missing.append(f"signal {sid} has no risk decision")
        elif len(got) > 1:
            audit.duplicates.append(f"signal {sid} decided {len(got)} times: {got}")
    for oid in orders:
        if oid not in fills:
            audit.missing.append(f"order {oid} has no terminal outcome")

    conn = await asyncpg.connect(database_url)
    try:
        per_order = await orders_executed_more_than_once(conn)
        audit.duplicates.extend(f"order {order_id} executed {n} times" for order_id, n in per_order.items())
        audit.position_mismatches.extend(await position_mismatches(conn, portfolio))
    finally:
        await conn.close()
    return audit


def unscored(snapshots: list[dict[str, Any]], signals: list[dict[str, Any]]) -> list[str]:
    """Snapshots the model never scored though it scored a later one of the same pair. Every scored
    snapshot leaves at least one record on `signals` (its strategies' signals, else its price mark), named
    after it (`sig:{snapshot}[:{strategy}]`, `mark:{snapshot}`); the newest ones of a run still stopping may
    be waiting for their partition to move on, so only a gap counts. A signal lost with an aborted
    transaction and never sent again shows here, not among the decisions."""
    scored = {parts[1] for parts in (str(s.get("id", "")).split(":") for s in signals) if len(parts) > 1}
    keyed = [(str(snap.get("id")), str(snap.get("pair")), int(snap.get("ts_ms", 0))) for snap in snapshots]
    newest: dict[str, int] = {}
    for snap_id, pair, ts_ms in keyed:
        if snap_id in scored:
            newest[pair] = max(newest.get(pair, 0), ts_ms)
    return [
        f"snapshot {snap_id} has no signal"
        for snap_id, pair, ts_ms in keyed
        if snap_id not in scored and ts_ms < newest.get(pair, 0)
    ]


async def position_mismatches(conn: asyncpg.Connection, portfolio: str) -> list[str]:
    """Pairs whose position differs from the sum of their fills (the sink writes both in one transaction,
    so this holds at any moment, not only once a run has drained)."""
    expected = await filled_base_by_pair(conn, portfolio)
    actual = {p.pair: p.base_amount for p in await read_positions(conn, portfolio)}
    return [
        f"{pair}: position {actual.get(pair, 0)} != sum of fills {expected.get(pair, 0)}"
        for pair in sorted(set(expected) | set(actual))
        if expected.get(pair, 0) != actual.get(pair, 0)
    ]
