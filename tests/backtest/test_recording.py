"""Recording files, the shipped sample, and record -> replay on the session's real broker."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import uuid
from pathlib import Path
from typing import Any

import pytest

from backtest.make_sample import SAMPLE_START_MS, sample_records
from backtest.recording import read_records, record, replay, write_records
from core.settings import Settings
from streams.broker import bootstrap_of, create_topics

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "sim-seed1.jsonl.gz"


def test_gzip_and_plain_files_round_trip_byte_for_byte(tmp_path: Path) -> None:
    recs = list(sample_records(seed=2, duration_s=5.0, rate_eps=300.0, partitions=4))
    for name in ("a.jsonl", "a.jsonl.gz", "b.jsonl.gz"):
        assert write_records(tmp_path / name, recs) == len(recs)
        assert list(read_records(tmp_path / name)) == recs
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()  # no mtime/name
    assert gzip.decompress((tmp_path / "a.jsonl.gz").read_bytes()) == (tmp_path / "a.jsonl").read_bytes()


def test_the_shipped_sample_is_what_make_sample_writes() -> None:
    head = list(sample_records(seed=1, duration_s=10.0, rate_eps=300.0, partitions=4))
    shipped = list(itertools.islice(read_records(SAMPLE), len(head) + 1))
    assert shipped[: len(head)] == head
    assert shipped[len(head)]["value"]["ts_ms"] >= SAMPLE_START_MS + 10_000
    per_partition: dict[tuple[str, int], int] = {}
    for rec in head:  # offsets count up per partition from 0, and a key keeps its partition
        tp = (rec["topic"], rec["partition"])
        assert rec["offset"] == per_partition.get(tp, 0)
        per_partition[tp] = rec["offset"] + 1


def _by_key(records: list[dict[str, Any]], keys: set[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {k: [] for k in keys}
    for rec in records:
        if rec["key"] in keys:
            out[rec["key"]].append(rec["value"])
    return out


@pytest.mark.integration
def test_record_then_replay_keeps_every_keys_records_in_order(settings: Settings, tmp_path: Path) -> None:
    """The raw topic names are fixed and the broker is shared: fresh keys, compared per key."""
    assert settings.broker_url is not None
    bootstrap = bootstrap_of(settings.broker_url)
    tag = uuid.uuid4().hex[:8]
    source = []
    for i in range(300):
        key = f"T{tag}{i % 5}/USDC" if i % 7 else f"mint-{tag}-{i % 3}"
        topic = "raw.swaps" if i % 7 else "raw.launches"
        source.append(
            {
                "topic": topic,
                "partition": 0,
                "offset": i,
                "key": key,
                "value": {"i": i, "ts_ms": 1_000 + i},
                "timestamp_ms": 1,
            }
        )
    source.append({"topic": "raw.swaps", "partition": 0, "offset": 300, "key": f"T{tag}0/USDC",
                   "value": {"_raw_b64": "AP9nYXJiYWdl"}, "timestamp_ms": 1})  # fmt: skip
    keys = {rec["key"] for rec in source}
    src = tmp_path / "src.jsonl.gz"
    write_records(src, source)

    async def go() -> None:
        await create_topics(bootstrap, settings.topic_partitions)
        assert await replay(bootstrap, src, speed=100.0) == len(source)  # paced: 0.3 s of event time
        await record(bootstrap, tmp_path / "out.jsonl.gz", from_beginning=True, to_end=True)

    asyncio.run(go())
    got = list(read_records(tmp_path / "out.jsonl.gz"))
    assert _by_key(got, keys) == _by_key(source, keys)
    mine = [r for r in got if r["key"] in keys]
    assert {r["topic"] for r in mine} == {"raw.swaps", "raw.launches"}
    for rec in mine:
        assert set(rec) == {"topic", "partition", "offset", "key", "value", "timestamp_ms"}


def test_record_and_replay_commands_need_a_broker_and_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from core.settings import load_settings
    from solbot.commands import record as record_command
    from solbot.commands import replay as replay_command

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    record_command.add_parser(sub)
    replay_command.add_parser(sub)
    no_broker = load_settings(data_dir=tmp_path, broker_url=None)
    assert (
        record_command.main(no_broker, parser.parse_args(["record", "--out", str(tmp_path / "x.jsonl")])) == 1
    )
    write_records(tmp_path / "y.jsonl", [])
    assert (
        replay_command.main(no_broker, parser.parse_args(["replay", str(tmp_path / "y.jsonl"), "--max"])) == 1
    )
    assert replay_command.main(no_broker, parser.parse_args(["replay", str(tmp_path / "nope.jsonl")])) == 1
    assert "no broker" in capsys.readouterr().err
