"""Recordings of the raw topics: JSON Lines files that `record` writes, `replay` plays back and the
backtest reads.

One record a line, `{"topic", "partition", "offset", "key", "value", "timestamp_ms"}` — the shape
`solbot topics tail` prints (`streams.inspect.decode_record`): `key` is text (or `{"_raw_b64"}`), `value`
the record's parsed JSON (or `{"_raw_b64"}` when it was not JSON, so garbage replays as garbage).
A path ending in `.gz` is gzip-compressed. Lines are in the order they were consumed: per partition in
offset order, partitions interleaved as the fetches arrived.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import logging
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from isal import igzip, isal_zlib

from backtest.result import DEAD_LINE
from core.errors import InputError
from streams.broker import true_end_offsets
from streams.broker_auth import NO_AUTH, BrokerAuth
from streams.inspect import broker_partitions, decode_record
from streams.progress import ProgressBeacon
from streams.records import PROGRESS_KEY
from streams.topics import RAW_SWAPS, RAW_TOPICS

PROGRESS_TEXT = PROGRESS_KEY.decode()  # the key of a progress record, as a recording writes it

log = logging.getLogger(__name__)

RAW_TOPIC_NAMES: tuple[str, ...] = tuple(spec.name for spec in RAW_TOPICS)
_REPLAY_BATCH = 2_000  # sends between two waits for delivery
_IDLE_SLEEP_S = 0.05
_READ_CHUNK = 1 << 20  # bytes of (decompressed) recording per read


class _GzipOut(gzip.GzipFile):
    """gzip with no name and mtime 0 in its header (same records, same bytes); closes its file too."""

    def __init__(self, path: Path) -> None:
        self._raw = open(path, "wb")  # closed in close()
        super().__init__(filename="", mode="wb", fileobj=self._raw, mtime=0, compresslevel=6)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


def open_binary(path: Path, mode: str) -> IO[bytes]:
    """`path` for reading ("rb") or writing ("wb"), through gzip when it ends in .gz.

    Reads inflate with ISA-L (`isal.igzip`, same format, about twice as fast as zlib: a fifth of a
    backtest's reading time); writes stay on zlib, so a recording's bytes do not change.
    """
    if path.suffix == ".gz":
        return _GzipOut(path) if "w" in mode else igzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, mode)  # the caller closes it


_ISAL_ERROR: type[Exception] = isal_zlib.error  # type: ignore[assignment]  # ISA-L's inflate error (not a zlib.error)


def read_records(path: Path, *, numbered: bool = False) -> Iterator[dict[str, Any]]:
    """The recording's records in file order (blank lines skipped); with `numbered`, each with its `line`.

    Reads a megabyte at a time and splits it into lines itself: a gzip `readline` per record costs more
    than parsing the record. A file that is not a recording (not gzip, or a first line that is not JSON or
    lacks `topic`, `partition`, `offset` and `value`) stops with an InputError naming the line, not deep
    inside the backtest. After the first record, a bad line (not JSON, a bare NaN, a cut line) is a dead
    letter: `{"topic": DEAD_LINE, "line": n, "reason": ...}`, for the reader to count and report.
    """
    line_no = 0
    started = False
    try:
        with open_binary(path, "rb") as fh:
            rest = b""
            while chunk := fh.read(_READ_CHUNK):
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()  # an incomplete last line waits for the next chunk
                for line in lines:
                    line_no += 1
                    if line.strip():
                        rec = _record(line, path, line_no, started, numbered)
                        started = True
                        yield rec
            if rest.strip():
                yield _record(rest, path, line_no + 1, started, numbered)
    except (OSError, EOFError, zlib.error, _ISAL_ERROR) as exc:  # BadGzipFile is an OSError
        raise InputError(f"{path}: cannot read it as a recording ({exc})") from None


_RECORD_FIELDS = ("topic", "partition", "offset", "value")
_RECORD_FIELD_SET = frozenset(_RECORD_FIELDS)


def _record(line: bytes, path: Path, line_no: int, started: bool, numbered: bool) -> dict[str, Any]:
    try:
        rec = orjson.loads(line)
    except orjson.JSONDecodeError:
        if started:
            return {"topic": DEAD_LINE, "line": line_no, "reason": "not JSON"}
        raise InputError(f"{path}: line {line_no} is not JSON (is this a `solbot record` file?)") from None
    # `keys() >=` a frozenset: the membership test without a generator object per record
    if type(rec) is not dict or not rec.keys() >= _RECORD_FIELD_SET:
        if started:
            return {"topic": DEAD_LINE, "line": line_no, "reason": "not a recorded message"}
        raise InputError(
            f"{path}: line {line_no} is not a recorded message (needs {', '.join(_RECORD_FIELDS)})"
        )
    if numbered:
        rec["line"] = line_no
    return rec


def write_records(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Write records as JSON Lines (gzip for .gz); returns how many."""
    n = 0
    with open_binary(path, "wb") as fh:
        for record in records:
            fh.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
            n += 1
    return n


def event_time_ms(record: dict[str, Any]) -> int:
    """The record's event time: the value's `ts_ms` (block time) when it has one, else the broker time."""
    value = record.get("value")
    if isinstance(value, dict):
        ts = value.get("ts_ms")
        if isinstance(ts, int) and not isinstance(ts, bool):
            return ts
    return int(record.get("timestamp_ms") or 0)


NEVER = 2**62


def swap_horizons(path: Path) -> tuple[list[int], int | None]:
    """For each record of the file, the oldest event time of the raw swaps from it on (`NEVER` after the
    last), and the newest swap's: what the replay may promise every raw.swaps partition before sending a
    record, whatever the file's interleaving of partitions (`streams.progress`). One pass over the file."""
    swaps = RAW_SWAPS.name
    times = [
        event_time_ms(rec) if rec.get("topic") == swaps and rec.get("key") != PROGRESS_TEXT else NEVER
        for rec in read_records(path)
    ]
    newest = max((t for t in times if t < NEVER), default=None)
    oldest = NEVER
    for i in range(len(times) - 1, -1, -1):
        oldest = min(oldest, times[i])
        times[i] = oldest
    return times, newest


@dataclass(frozen=True)
class RecordedMessage:
    """A recorded line as the consumed record it was (the fold's `RawMessage`): key and value as the bytes
    that were on the broker, the broker time in seconds."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: float

    @classmethod
    def of(cls, rec: dict[str, Any]) -> RecordedMessage:
        return cls(
            topic=str(rec.get("topic")),
            partition=int(rec.get("partition") or 0),
            offset=int(rec.get("offset") or 0),
            key=_bytes_of(rec.get("key"), as_json=False),
            value=_bytes_of(rec.get("value"), as_json=True),
            timestamp=int(rec.get("timestamp_ms") or 0) / 1000.0,
        )


def _bytes_of(field: Any, *, as_json: bool) -> bytes | None:
    """Back to the bytes that were on the broker: `{"_raw_b64"}` decoded, text encoded, JSON dumped."""
    if field is None:
        return None
    if isinstance(field, dict) and set(field) == {"_raw_b64"}:
        return base64.b64decode(field["_raw_b64"])
    if as_json:
        return orjson.dumps(field)
    return str(field).encode("utf-8")


async def record(
    bootstrap: str,
    out: Path,
    *,
    from_beginning: bool = False,
    duration_s: float | None = None,
    to_end: bool = False,
    topics: Iterable[str] = RAW_TOPIC_NAMES,
    auth: BrokerAuth = NO_AUTH,
) -> int:
    """Consume every partition of `topics` into `out` until `duration_s` has passed, or (with `to_end`)
    until the ends as of the start are reached, or until cancelled. Returns the records written."""
    names = list(topics)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=50, **auth
    )
    await consumer.start()
    written = 0
    fh = open_binary(out, "wb")
    try:
        tps = await broker_partitions(consumer, names)
        if not tps:
            return 0
        consumer.assign(tps)
        listed = await consumer.end_offsets(tps)
        ends = await true_end_offsets(bootstrap, tps, listed, auth)
        if from_beginning:
            await consumer.seek_to_beginning(*tps)
        else:
            for tp in tps:
                consumer.seek(tp, ends[tp])
        loop = asyncio.get_running_loop()
        deadline = None if duration_s is None else loop.time() + duration_s
        while True:
            if to_end and await _reached(consumer, ends):
                break
            timeout_ms = 200
            if deadline is not None:
                left = deadline - loop.time()
                if left <= 0:
                    break
                timeout_ms = max(1, min(timeout_ms, int(left * 1000)))
            batches = await consumer.getmany(timeout_ms=timeout_ms)
            for records in batches.values():
                for rec in records:
                    fh.write(orjson.dumps(decode_record(rec), option=orjson.OPT_APPEND_NEWLINE))
                    written += 1
    finally:
        fh.close()
        await consumer.stop()
    log.info("recorded %d records to %s", written, out)
    return written


async def _reached(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True


async def replay(
    bootstrap: str,
    path: Path,
    *,
    speed: float = 1.0,
    max_speed: bool = False,
    auth: BrokerAuth = NO_AUTH,
) -> int:
    """Produce the recording back into its topics, in file order, keyed as recorded.

    One producer sends in file order and the default partitioner maps a key to one partition, so records
    with the same key arrive in the same order. Paced so that event time advances `speed` times as fast
    as the wall clock (a record older than the pace is sent at once); `max_speed` sends without pausing.
    """
    if not max_speed and speed <= 0:
        raise ValueError("speed must be > 0")
    horizon, newest = swap_horizons(path)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=5, enable_idempotence=False, acks=1, **auth
    )
    await producer.start()
    beacon = ProgressBeacon(producer, RAW_SWAPS.name)
    await beacon.start()
    sent = 0
    start_wall = time.monotonic()
    start_event: int | None = None
    try:
        deliveries: list[asyncio.Future[Any]] = []
        for i, rec in enumerate(read_records(path)):
            if horizon[i] < NEVER:
                deliveries += await beacon.advance(horizon[i])  # no raw swap from here on is older
            if rec["topic"] == DEAD_LINE:
                log.warning("%s: line %d skipped: %s", path, rec["line"], rec["reason"])
                continue
            if not max_speed:
                ts = event_time_ms(rec)
                if start_event is None:
                    start_event = ts
                due_s = (ts - start_event) / 1000.0 / speed
                while (wait := due_s - (time.monotonic() - start_wall)) > 0:
                    if deliveries:
                        await asyncio.gather(*deliveries)
                        deliveries = []
                    await asyncio.sleep(min(_IDLE_SLEEP_S, wait))
            deliveries.append(
                await producer.send(
                    rec["topic"],
                    key=_bytes_of(rec.get("key"), as_json=False),
                    value=_bytes_of(rec.get("value"), as_json=True),
                )
            )
            sent += 1
            if len(deliveries) >= _REPLAY_BATCH:
                await asyncio.gather(*deliveries)
                deliveries = []
        if newest is not None:  # the end: nothing more comes, so the merges may release the last swaps too
            deliveries += await beacon.advance(newest + 1, force=True)
        await asyncio.gather(*deliveries)
    finally:
        await producer.flush()
        await producer.stop()
    log.info("replayed %d records from %s", sent, path)
    return sent
