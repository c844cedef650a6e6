"""`solbot topics …` and `solbot retention` as an operator runs them, on the session's real stack."""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from core.settings import Settings, load_settings
from solbot.commands import db_retention, topics
from store.migrate import migrate
from streams.broker import bootstrap_of

pytestmark = pytest.mark.integration


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="solbot")
    sub = parser.add_subparsers(dest="command", required=True)
    topics.add_parser(sub)
    db_retention.add_parser(sub)
    return parser.parse_args(argv)


def _produce(broker_url: str, n: int) -> str:
    topic = f"cmd-{uuid.uuid4().hex[:8]}"

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap_of(broker_url), linger_ms=50)
        await producer.start()
        try:
            for i in range(n):  # one batch: ListOffsets would say 1
                await producer.send(topic, key=b"SOL/USDC", value=orjson.dumps({"i": i}), partition=0)
            await producer.flush()
        finally:
            await producer.stop()

    asyncio.run(send())
    return topic


def test_list_prints_true_end_offsets(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert settings.broker_url is not None
    topic = _produce(settings.broker_url, 50)
    assert topics.main(settings, _args("topics", "list")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["TOPIC", "KIND", "PARTITIONS", "MESSAGES"]
    (row,) = [line for line in lines if line.startswith(topic + " ")]
    assert row.split()[1:4] == ["other", "4", "50"]
    assert row.split()[-1] == "50,0,0,0"
    assert topics.main(settings, _args("topics", "list", "--json")) == 0
    parsed = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    (mine,) = [p for p in parsed if p["topic"] == topic]
    assert mine["end_offsets"] == [50, 0, 0, 0]


def test_tail_prints_decoded_records(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert settings.broker_url is not None
    topic = _produce(settings.broker_url, 20)
    assert topics.main(settings, _args("topics", "tail", topic, "--limit", "3")) == 0
    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["value"] for r in lines] == [{"i": 17}, {"i": 18}, {"i": 19}]
    assert set(lines[0]) == {"topic", "partition", "offset", "timestamp_ms", "key", "value"}
    assert lines[0]["key"] == "SOL/USDC"
    assert topics.main(settings, _args("topics", "tail", topic, "--from-beginning", "--limit", "5")) == 0
    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["offset"] for r in lines] == [0, 1, 2, 3, 4]


def test_tail_of_an_unknown_topic_is_one_line_and_exit_1(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert topics.main(settings, _args("topics", "tail", "no-such-topic-xyz")) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == "solbot: unknown topic: no-such-topic-xyz\n"


def test_lag_per_group_and_partition(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert settings.broker_url is not None
    topic = _produce(settings.broker_url, 12)
    group = f"cmd-group-{uuid.uuid4().hex[:8]}"

    async def commit() -> None:
        bootstrap = bootstrap_of(settings.broker_url or "")
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign([TopicPartition(topic, 0)])
            await consumer.commit({TopicPartition(topic, 0): 4})
        finally:
            await consumer.stop()

    asyncio.run(commit())
    assert topics.main(settings, _args("topics", "lag", "--group", group)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG"]
    assert lines[1].split() == [group, topic, "0", "4", "12", "8"]
    assert topics.main(settings, _args("topics", "lag", "--group", "nobody-here", "--json")) == 0
    assert orjson.loads(capsys.readouterr().out) == {"group": "nobody-here", "error": "no committed offsets"}


def test_no_broker_is_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lonely = load_settings(data_dir=tmp_path, broker_url=None, database_url=None, redis_url=None)
    assert topics.main(lonely, _args("topics", "list")) == 1
    assert capsys.readouterr().err.startswith("solbot: no broker: set BROKER_URL")


@pytest.fixture
def own_database(settings: Settings) -> Iterator[Settings]:
    """Settings whose DATABASE_URL is a fresh, migrated database of its own."""
    assert settings.database_url is not None
    name = f"cmd_{uuid.uuid4().hex}"
    url = urlunsplit(urlsplit(settings.database_url)._replace(path=f"/{name}"))

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(settings.database_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(migrate(url))
        yield settings.model_copy(update={"database_url": url})
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_retention_command_creates_ahead_and_drops_old(
    own_database: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert own_database.database_url is not None
    url = own_database.database_url
    old_day = (datetime.now(UTC) - timedelta(days=40)).date()

    async def old_partition() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                f"CREATE TABLE market_data_p{old_day:%Y%m%d} PARTITION OF market_data FOR VALUES"
                f" FROM ('{old_day} 00:00+00') TO ('{old_day + timedelta(days=1)} 00:00+00')"
            )
        finally:
            await conn.close()

    asyncio.run(old_partition())
    assert db_retention.main(own_database, _args("retention", "--keep-days", "30")) == 0
    out = capsys.readouterr().out.splitlines()
    today = datetime.now(UTC).date()
    expected = ", ".join(f"market_data_p{today + timedelta(days=d):%Y%m%d}" for d in range(3))
    assert out == [f"created: {expected}", f"dropped (older than 30 days): market_data_p{old_day:%Y%m%d}"]
    assert db_retention.main(own_database, _args("retention")) == 0
    assert capsys.readouterr().out.splitlines() == [
        "created: nothing (partitions exist)",
        "dropped (older than 90 days): nothing",
    ]
