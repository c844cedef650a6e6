"""The embedded Apache Kafka: what the bot relies on (topics, groups, transactions, data kept across a
restart) and that no JVM outlives the process that started it, however that process ends."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic, RecordsToDelete

from core.errors import ConfigError, ServiceError
from core.settings import load_settings
from services.broker import choose_broker, start_broker
from services.kafka import KafkaHandle, KafkaUnavailable, kafka_unavailable_reason, start_kafka
from services.process import free_port, pid_alive, terminate
from services.stack import Stack
from solbot.audit import read_committed_records
from streams.broker import supports_transactions

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def require_kafka() -> None:
    """`make test` resolves Kafka first (`make kafka`): without it these tests fail and say why, not skip."""
    if (reason := kafka_unavailable_reason()) is not None:
        pytest.fail(f"no embedded Kafka here ({reason}); run `make kafka`", pytrace=False)


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaHandle]:
    require_kafka()
    port = free_port()
    handle = start_kafka(tmp_path_factory.mktemp("kafka"), port=port)
    assert handle.port == port  # an explicit port is used as given
    yield handle
    terminate(handle.pid)


def _bootstrap(handle: KafkaHandle) -> str:
    return f"127.0.0.1:{handle.port}"


def _topic() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


async def _create(bootstrap: str, topic: str, partitions: int = 1) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
        # The create answers once the controller has the topic; the broker's metadata may list it a moment
        # later on a busy box (make test failed here, as test_broker's changelog test once did).
        deadline = time.monotonic() + 10
        while topic not in await admin.list_topics():
            assert time.monotonic() < deadline, f"{topic} never listed"
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def _read_all(bootstrap: str, topic: str, isolation: str = "read_uncommitted") -> list[bytes]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level=isolation,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        out: list[bytes] = []
        deadline = time.monotonic() + 10
        while await consumer.position(tp) < end and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                out += [r.value or b"" for r in records]
        return out
    finally:
        await consumer.stop()


def _java_processes_for(data_dir: Path) -> list[int]:
    """JVMs whose command line names this data dir (the broker's server.properties lives there)."""
    marker = str(data_dir.resolve())
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        cmd = proc.info["cmdline"] or []
        if cmd and "java" in Path(cmd[0]).name and any(marker in part for part in cmd):
            if proc.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(proc.info["pid"])
    return found


def _gone_within(data_dir: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _java_processes_for(data_dir):
            return True
        time.sleep(0.1)
    return False


async def test_topics_produce_and_consume(kafka: KafkaHandle) -> None:
    bootstrap, topic = _bootstrap(kafka), _topic()
    await _create(bootstrap, topic)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for i in range(100):
            await producer.send(topic, b"%d" % i, partition=0)
        await producer.flush()
    finally:
        await producer.stop()
    assert await _read_all(bootstrap, topic) == [b"%d" % i for i in range(100)]


async def test_read_committed_sees_only_committed_transactions(kafka: KafkaHandle) -> None:
    bootstrap, topic = _bootstrap(kafka), _topic()
    await _create(bootstrap, topic)
    group = f"g-{uuid.uuid4().hex[:6]}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"tx-{topic}")
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send(topic, b"a1", partition=0)
            await producer.send(topic, b"a2", partition=0)
            # Only partitions that exist: aiokafka retries Kafka's UNKNOWN_TOPIC_OR_PARTITION here forever.
            await producer.send_offsets_to_transaction({TopicPartition(topic, 0): 42}, group)
        await producer.begin_transaction()
        await producer.send(topic, b"aborted", partition=0)
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send(topic, b"c1", partition=0)
    finally:
        await producer.stop()
    assert await _read_all(bootstrap, topic, "read_committed") == [b"a1", b"a2", b"c1"]
    assert await _read_all(bootstrap, topic) == [b"a1", b"a2", b"aborted", b"c1"]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:  # AddOffsetsToTxn + TxnOffsetCommit: the offset is the group's once the transaction commits
        assert await consumer.committed(TopicPartition(topic, 0)) == 42
    finally:
        await consumer.stop()


async def test_reading_back_a_transactional_topic_ends_at_its_commit_marker(kafka: KafkaHandle) -> None:
    """The last offset of a partition written in transactions is a commit marker, never a record: a reader
    that waits for a record at end - 1 waits for ever (the flood test under exactly-once did)."""
    bootstrap, topic = _bootstrap(kafka), _topic()
    await _create(bootstrap, topic, partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"tx-{topic}")
    await producer.start()
    try:
        async with producer.transaction():
            for i in range(5):
                await producer.send(topic, b"%d" % i, key=b"k", partition=i % 2)
        await producer.begin_transaction()
        await producer.send(topic, b"aborted", partition=0)
        await producer.abort_transaction()
    finally:
        await producer.stop()
    records = await asyncio.wait_for(read_committed_records(bootstrap, topic), timeout=20)
    assert sorted(r.value or b"" for r in records) == [b"0", b"1", b"2", b"3", b"4"]
    assert all(r.key == b"k" for r in records)


async def test_the_transaction_probe_answers_at_once(kafka: KafkaHandle) -> None:
    t0 = time.monotonic()
    assert await supports_transactions(_bootstrap(kafka), timeout_s=5) is True
    assert time.monotonic() - t0 < 2.0  # readiness already made __transaction_state


def test_the_handle_says_what_started(kafka: KafkaHandle) -> None:
    assert kafka.url == f"kafka://127.0.0.1:{kafka.port}" and kafka.port != kafka.controller_port
    assert kafka.describe().startswith("broker: Apache Kafka 4.") and "(KRaft) ready in" in kafka.describe()
    assert 0 < kafka.startup_s < 90 and kafka.formatted


def test_a_restart_keeps_topics_records_group_offsets_and_transactions(tmp_path: Path) -> None:
    require_kafka()
    first = start_kafka(tmp_path)
    bootstrap, topic = _bootstrap(first), _topic()
    try:
        asyncio.run(_fill_before_restart(bootstrap, topic))
    finally:
        terminate(first.pid)
    second = start_kafka(tmp_path)  # no port given: the last one, remembered in the data dir
    try:
        assert (second.port, second.formatted) == (first.port, False)
        records, committed = asyncio.run(_read_after_restart(_bootstrap(second), topic))
        assert records == [b"r%d" % i for i in range(50)] + [b"tx"]
        assert committed == 20
    finally:
        terminate(second.pid)


async def _fill_before_restart(bootstrap: str, topic: str) -> None:
    await _create(bootstrap, topic)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for i in range(50):
            await producer.send(topic, b"r%d" % i, partition=0)
        await producer.flush()
    finally:
        await producer.stop()
    tx = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"tx-{topic}")
    await tx.start()
    try:
        async with tx.transaction():
            await tx.send(topic, b"tx", partition=0)
        await tx.begin_transaction()
        await tx.send(topic, b"never", partition=0)
        await tx.abort_transaction()
    finally:
        await tx.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"g-{topic}", enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.commit({TopicPartition(topic, 0): 20})
    finally:
        await consumer.stop()


async def _read_after_restart(bootstrap: str, topic: str) -> tuple[list[bytes], int | None]:
    records = await _read_all(bootstrap, topic, "read_committed")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"g-{topic}", enable_auto_commit=False)
    await consumer.start()
    try:
        committed = await consumer.committed(TopicPartition(topic, 0))
    finally:
        await consumer.stop()
    tx = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"tx-{topic}")
    await tx.start()  # the transactional id is known after the restart: InitProducerId bumps its epoch
    await tx.stop()
    return records, committed


PARENT = """
import signal, sys, time
from pathlib import Path
signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C even when started in the background
from services.kafka import start_kafka
handle = start_kafka(Path(sys.argv[1]))
print(handle.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize(
    "sig", [signal.SIGKILL, pytest.param(signal.SIGINT, marks=pytest.mark.slow)], ids=["kill-9", "ctrl-c"]
)
def test_no_java_outlives_its_parent(tmp_path: Path, sig: signal.Signals) -> None:
    require_kafka()
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert parent.stdout is not None
        java_pid = int(parent.stdout.readline())
        assert pid_alive(java_pid) and _java_processes_for(tmp_path) == [java_pid]
        parent.send_signal(sig)
        # Ctrl-C stops the broker in order first: on a loaded box (make test beside make test-slow) that
        # took more than 10 s once. What matters is that no JVM outlives the parent, checked below.
        parent.wait(timeout=60)
        assert _gone_within(tmp_path, 15), "the broker's JVM outlived its parent"
    finally:
        parent.kill()
        parent.wait()
        for pid in _java_processes_for(tmp_path):
            os.kill(pid, signal.SIGKILL)


def test_a_failed_start_leaves_no_java(tmp_path: Path) -> None:
    require_kafka()
    with socket.socket() as taken:  # the port is someone else's: the JVM starts, then cannot bind
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(ServiceError, match="broker \\(kafka\\)"):
            start_kafka(tmp_path, port=taken.getsockname()[1])
    assert _gone_within(tmp_path, 1)
    with pytest.raises(ServiceError, match="not ready within"):
        start_kafka(tmp_path / "slow", timeout_s=0.5)  # no JVM is ready in half a second
    assert _gone_within(tmp_path / "slow", 1)


def test_without_java_the_broker_is_tansu_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    caplog.set_level(logging.WARNING)
    handle = start_broker(tmp_path, which=lambda name: None)
    try:
        assert handle.kind == "tansu" and handle.url == f"kafka://127.0.0.1:{handle.port}"
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1
        line = warnings[0].getMessage()
        assert "\n" not in line and "java" in line and "no transactions" in line and "memory only" in line
    finally:
        terminate(handle.pid)


def test_embedded_broker_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert choose_broker("tansu") == ("tansu", "EMBEDDED_BROKER=tansu")
    assert choose_broker("auto", which=lambda name: None)[0] == "tansu"
    with pytest.raises(KafkaUnavailable, match="EMBEDDED_BROKER=kafka, but no `java`"):
        choose_broker("kafka", which=lambda name: None)
    with pytest.raises(ConfigError, match="EMBEDDED_BROKER"):
        load_settings(embedded_broker="redpanda")
    if kafka_unavailable_reason() is None:
        assert choose_broker("auto") == ("kafka", None)


def test_the_stack_starts_kafka_by_default(stack: Stack) -> None:
    require_kafka()
    assert stack.broker is not None and stack.broker.kind == "kafka"
    assert stack.broker.summary.startswith("broker: Apache Kafka")


def test_a_data_dir_lock_let_go_of_soon_after_a_kill_is_waited_for_not_refused(tmp_path: Path) -> None:
    """A SIGKILLed JVM is a zombie before its threads release the lock: a restart then waits for it."""
    from services.kafka.server import _held_beyond

    (tmp_path / ".lock").touch()
    script = (
        "import fcntl, os, sys, time\n"
        "fd = os.open(sys.argv[1], os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX)\n"
        "print('held', flush=True); time.sleep(float(sys.argv[2]))\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / ".lock"), "0.5"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert _held_beyond(tmp_path, 0.0)  # held now
        assert not _held_beyond(tmp_path, 10.0)  # let go of within the wait
    finally:
        holder.wait()
    long = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / ".lock"), "30"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert long.stdout is not None and long.stdout.readline().strip() == "held"
        assert _held_beyond(tmp_path, 0.3)  # a live broker's: still refused
    finally:
        long.kill()
        long.wait()


async def test_a_table_recovers_up_to_the_last_committed_record_not_to_the_marker(kafka: KafkaHandle) -> None:
    """The end a table's recovery waits for (`streams.compat.recovery`): the offset after the last committed
    record, below the markers and aborted records that follow it; and 0 for a partition with none."""
    from streams.compat.recovery import after_last_committed

    bootstrap, topic = _bootstrap(kafka), _topic()
    await _create(bootstrap, topic, partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"tx-{topic}")
    await producer.start()
    try:
        async with producer.transaction():  # offsets 0..2, the marker 3
            for i in range(3):
                await producer.send(topic, b"%d" % i, partition=0)
        await producer.begin_transaction()  # 4..5 aborted, the marker 6
        for _ in range(2):
            await producer.send(topic, b"gone", partition=0)
        await producer.abort_transaction()
        await producer.begin_transaction()  # partition 1: aborted only
        await producer.send(topic, b"gone", partition=1)
        await producer.abort_transaction()
    finally:
        await producer.stop()
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
    await reader.start()
    try:
        tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        stable = await reader.end_offsets(tps)
        assert stable == {tps[0]: 7, tps[1]: 2}  # the markers counted
        ends = await asyncio.wait_for(after_last_committed(reader._client, stable), timeout=30)
    finally:
        await reader.stop()
    assert ends == {tps[0]: 3, tps[1]: 0}


async def test_a_recovery_end_is_never_below_the_start_retention_left(kafka: KafkaHandle) -> None:
    """Retention moves a changelog's first offset; the tail read began below it (out of range, reset to the
    end), found nothing and said 0, and Faust, starting recovery at first - 1, raised ConsistencyError in
    every worker of `make chaos` after its broker kills."""
    from streams.compat.recovery import after_last_committed

    bootstrap, topic = _bootstrap(kafka), _topic()
    await _create(bootstrap, topic, partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"tx-{topic}")
    await producer.start()
    try:
        async with producer.transaction():  # partition 0: 0..2 committed, the marker 3
            for i in range(3):
                await producer.send(topic, b"%d" % i, partition=0)
        await producer.begin_transaction()  # partition 1: 0 aborted, the marker 1
        await producer.send(topic, b"gone", partition=1)
        await producer.abort_transaction()
    finally:
        await producer.stop()
    tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_records({tps[0]: RecordsToDelete(2), tps[1]: RecordsToDelete(2)})
    finally:
        await admin.close()
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
    await reader.start()
    try:
        stable = await reader.end_offsets(tps)
        assert stable == {tps[0]: 4, tps[1]: 2}
        assert await reader.beginning_offsets(tps) == {tps[0]: 2, tps[1]: 2}
        ends = await asyncio.wait_for(after_last_committed(reader._client, stable), timeout=30)
    finally:
        await reader.stop()
    assert ends == {tps[0]: 3, tps[1]: 2}


async def test_a_recovery_waits_for_a_transaction_still_writing_its_markers(kafka: KafkaHandle) -> None:
    """`make chaos`: the previous owner's last transaction, committed just before it died, was not yet
    readable when the next owner computed where recovery ends (a broker restart slowed its markers); the
    bars table came back without it while the raw offsets did not, and 42 trades were never counted. An
    active changelog's open transaction is waited for (at most `SETTLE_S`) before its end is taken."""
    from streams.compat.recovery import after_last_committed

    bootstrap, topic = _bootstrap(kafka), _topic()
    await _create(bootstrap, topic, partitions=1)
    tp = TopicPartition(topic, 0)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"tx-{topic}")
    await producer.start()
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
    await reader.start()
    try:
        async with producer.transaction():  # 0..2 committed, the marker 3
            for i in range(3):
                await producer.send(topic, b"%d" % i, partition=0)
        await producer.begin_transaction()  # 4..5, committed a moment after recovery starts
        for i in range(2):
            await producer.send_and_wait(topic, b"late %d" % i, partition=0)
        stable = await reader.end_offsets([tp])
        assert stable == {tp: 4}  # what the stable offset says while the transaction is open

        async def commit_soon() -> None:
            await asyncio.sleep(1.0)
            await producer.commit_transaction()

        committing = asyncio.ensure_future(commit_soon())
        ends = await asyncio.wait_for(after_last_committed(reader._client, stable, settle=[tp]), timeout=30)
        await committing
        assert ends == {tp: 6}  # after the late transaction's last record, not 3
        assert await asyncio.wait_for(after_last_committed(reader._client, {tp: 4}), timeout=30) == {tp: 3}
    finally:
        await reader.stop()
        await producer.stop()
