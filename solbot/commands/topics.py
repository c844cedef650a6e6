"""`solbot topics list|tail|lag`: what is on the broker, record by record, and how far behind groups are.

It inspects a running broker (BROKER_URL, else the one `solbot services up` started); it never starts
one, because the embedded broker keeps its topics in memory and a fresh one would always be empty.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import orjson

from core.settings import Settings
from services.reachable import require_reachable
from services.stack import services_status
from streams.broker import bootstrap_of
from streams.broker_auth import BrokerAuth, broker_auth
from streams.inspect import (
    DEFAULT_TAIL,
    GroupLag,
    TopicInfo,
    UnknownTopicError,
    UnsupportedByBrokerError,
    group_lag,
    list_topics,
    tail,
)


def add_parser(subparsers: Any) -> None:
    """Add `topics` with its `list`, `tail` and `lag` subcommands."""
    topics = subparsers.add_parser("topics", help="inspect topics, records and consumer lag on the broker")
    sub = topics.add_subparsers(dest="topics_command", required=True)

    lst = sub.add_parser("list", help="every topic, its partitions and true end offsets")
    lst.add_argument("--json", action="store_true", help="one JSON object per topic")

    tl = sub.add_parser("tail", help="decoded records of a topic, one JSON object a line")
    tl.add_argument("topic", help="topic name, e.g. raw.swaps (see `solbot topics list`)")
    tl.add_argument("--from-beginning", action="store_true", help="start at the first record")
    tl.add_argument("--follow", action="store_true", help="then keep printing new records until Ctrl-C")
    tl.add_argument(
        "--limit",
        type=int,
        default=None,
        help=f"how many records (default: the last {DEFAULT_TAIL}; with --from-beginning, all)",
    )
    tl.add_argument("--partition", type=int, default=None, help="only this partition")

    lag = sub.add_parser("lag", help="committed offset, true end and lag per consumer group and partition")
    lag.add_argument("--group", action="append", default=None, help="only this group (repeatable)")
    lag.add_argument("--json", action="store_true", help="one JSON object per group and partition")


def broker_bootstrap(settings: Settings) -> str | None:
    """host:port of the broker to inspect, or None when none is configured or running."""
    url, running = services_status(settings)["broker"]
    return bootstrap_of(url) if url and running else None


def main(settings: Settings, args: argparse.Namespace) -> int:
    bootstrap = broker_bootstrap(settings)
    if bootstrap is None:
        print("solbot: no broker: set BROKER_URL or start one with `solbot services up`", file=sys.stderr)
        return 1
    require_reachable("BROKER_URL", settings.broker_url or f"kafka://{bootstrap}")
    try:
        auth = broker_auth(settings)
        if args.topics_command == "list":
            return asyncio.run(_list(bootstrap, auth, as_json=args.json))
        if args.topics_command == "tail":
            return asyncio.run(_tail(bootstrap, auth, args))
        return asyncio.run(_lag(bootstrap, auth, args.group, as_json=args.json))
    except KeyboardInterrupt:
        return 0  # Ctrl-C ends --follow; the consumer was stopped by the cancelled task's cleanup
    except BrokenPipeError:
        sys.stderr.close()  # `| head` closed our stdout: nothing more to say, and nothing went wrong
        return 0


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return [line(header), *(line(row) for row in rows)]


def format_topics(infos: list[TopicInfo]) -> list[str]:
    rows = [
        [
            info.topic,
            info.kind,
            str(info.partitions),
            str(info.messages),
            ",".join(str(end) for end in info.end_offsets),
        ]
        for info in infos
    ]
    return _table(["TOPIC", "KIND", "PARTITIONS", "MESSAGES", "END OFFSETS (by partition)"], rows, {2, 3})


def format_lag(groups: list[GroupLag]) -> list[str]:
    rows: list[list[str]] = []
    notes: list[str] = []
    for entry in groups:
        if entry.error:
            notes.append(f"{entry.group}: {entry.error}")
        elif not entry.rows:
            notes.append(f"{entry.group}: no committed offsets")
        for row in entry.rows:
            rows.append(
                [row.group, row.topic, str(row.partition), str(row.committed), str(row.end), str(row.lag)]
            )
    lines = (
        _table(["GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG"], rows, {2, 3, 4, 5}) if rows else []
    )
    return lines + notes


async def _list(bootstrap: str, auth: BrokerAuth, *, as_json: bool) -> int:
    infos = await list_topics(bootstrap, auth)
    if as_json:
        for info in infos:
            print(orjson.dumps(info.as_json()).decode())
    elif not infos:
        print("no topics")
    else:
        print("\n".join(format_topics(infos)))
    return 0


async def _tail(bootstrap: str, auth: BrokerAuth, args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 0:
        print("solbot: bad option --limit: must be >= 0", file=sys.stderr)
        return 2
    records = tail(
        bootstrap,
        args.topic,
        from_beginning=args.from_beginning,
        limit=args.limit,
        follow=args.follow,
        partition=args.partition,
        auth=auth,
    )
    try:
        async for record in records:
            sys.stdout.write(orjson.dumps(record).decode() + "\n")
            if args.follow:
                sys.stdout.flush()
    except UnknownTopicError as exc:
        print(f"solbot: unknown topic: {exc}", file=sys.stderr)
        return 1
    finally:
        await records.aclose()
    sys.stdout.flush()
    return 0


async def _lag(bootstrap: str, auth: BrokerAuth, groups: list[str] | None, *, as_json: bool) -> int:
    try:
        result = await group_lag(bootstrap, groups, auth)
    except UnsupportedByBrokerError as exc:
        print(f"solbot: {exc}", file=sys.stderr)
        return 1
    if as_json:
        for entry in result:
            if entry.error or not entry.rows:
                print(
                    orjson.dumps(
                        {"group": entry.group, "error": entry.error or "no committed offsets"}
                    ).decode()
                )
            for row in entry.rows:
                print(orjson.dumps(row.as_json()).decode())
    elif not result:
        print("no consumer groups")
    else:
        print("\n".join(format_lag(result)))
    return 0
