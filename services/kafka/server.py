"""Start one Apache Kafka node in KRaft mode (broker and controller in one JVM) on loopback ports.

Layout under `<data_dir>/kafka/`: `data/` (log.dirs: topics, group offsets, transaction state, the
metadata log), `cluster-id` (made once), `ports.json` (the last ports, reused when free so a restart
comes back where clients were), `server.properties` (written at every start). The JVM's output goes to
`<data_dir>/broker.log`. Why each setting has its value: docs/broker.md.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ServiceError, StackConflict
from services.kafka.sasl import (
    BrokerCredential,
    client_options,
    credential_for,
    format_arguments,
    listener_properties,
    write_private,
)
from services.process import free_port, port_open, spawn, wait_until

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
LOG4J_CONFIG = HERE / "log4j2.properties"
CACHE_DIR = HERE.parents[1] / ".cache" / "kafka"
CLASSPATH_FILE = CACHE_DIR / "classpath.txt"
STAMP_FILE = CACHE_DIR / "pom.sha256"
MIN_JAVA = 17
READY_TIMEOUT_S = 90.0
LOCK_RELEASE_WAIT_S = 10.0  # a killed broker's threads letting go of its data directory

# Measured on the 2-core machine (docs/broker.md): the live heap after a load is ~50 MB, so 384 MB leaves
# room for 16 MB records; the serial collector starts faster and costs less than G1 at this size; C1 alone
# halves the start-up CPU and uses less CPU and memory than C1+C2 at the bot's rates.
JVM_OPTIONS: tuple[str, ...] = (
    "-Xms128m",
    "-Xmx384m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:MaxDirectMemorySize=128m",
    "-XX:+ExitOnOutOfMemoryError",
    "-Xss512k",
    "-Djava.awt.headless=true",
    f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
)

# Broker settings beyond the listeners and paths; docs/broker.md gives the reason for each.
BROKER_SETTINGS: dict[str, str] = {
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "8",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "8",
    "min.insync.replicas": "1",
    "default.replication.factor": "1",
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "1000",
    "num.partitions": "4",
    "auto.create.topics.enable": "true",
    "message.max.bytes": str(16 * 1024 * 1024),
    "log.segment.bytes": str(32 * 1024 * 1024),
    "log.retention.hours": "24",
    "log.retention.bytes": str(1024 * 1024 * 1024),
    "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": "1000",
    "num.network.threads": "2",
    "num.io.threads": "4",
    "background.threads": "4",
    "num.recovery.threads.per.data.dir": "2",
}


class KafkaUnavailable(ServiceError):
    """Kafka cannot run here: no JDK 17+ or the jars were never resolved (`make kafka`)."""


@dataclass
class KafkaHandle:
    pid: int
    port: int
    controller_port: int
    url: str
    data_dir: Path
    version: str
    startup_s: float
    formatted: bool  # True on the first start of this data dir (storage formatted)
    phases: dict[str, float] = field(default_factory=dict)  # seconds from the call to each step
    credential: BrokerCredential | None = None  # SASL/SCRAM on: the user every client signs in as

    def describe(self) -> str:
        signin = ", SASL/SCRAM-SHA-512 only" if self.credential is not None else ""
        return (
            f"broker: Apache Kafka {self.version} (KRaft) ready in {self.startup_s:.1f} s at {self.url}"
            f"{signin}, data in {self.data_dir}"
        )


def _pom_version() -> str:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(POM).getroot().find("m:properties/m:kafka.version", ns)
    return node.text.strip() if node is not None and node.text else "4"


KAFKA_VERSION = _pom_version()


def pom_hash() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


_java_versions: dict[str, int | None] = {}


def java_major(java: str) -> int | None:
    """The JVM's feature version (17 for "17.0.15", 8 for "1.8.0_402"); None if it does not run."""
    if java not in _java_versions:
        try:
            out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=20).stderr
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        found = re.search(r'version "(\d+)(?:\.(\d+))?', out)
        major: int | None = None
        if found:
            major = int(found.group(1))
            if major == 1 and found.group(2):
                major = int(found.group(2))
        _java_versions[java] = major
    return _java_versions[java]


def find_java(
    which: Callable[[str], str | None] = shutil.which, environ: Mapping[str, str] | None = None
) -> str:
    """`$JAVA_HOME/bin/java`, else `java` on PATH, if it is 17 or newer."""
    env = os.environ if environ is None else environ
    home = Path(env.get("JAVA_HOME") or "/nonexistent") / "bin" / "java"
    java = str(home) if home.exists() else which("java")
    if not java:
        raise KafkaUnavailable("no `java` on PATH (a JDK 17+ runs the embedded Kafka)")
    major = java_major(java)
    if major is None or major < MIN_JAVA:
        raise KafkaUnavailable(f"{java} is Java {major or '?'}; the embedded Kafka needs {MIN_JAVA}+")
    return java


def resolved_classpath() -> str:
    """The classpath `make kafka` resolved for the current pom, every jar still present."""
    if not CLASSPATH_FILE.exists():
        raise KafkaUnavailable("Kafka's jars are not resolved (run `make kafka`)")
    if not STAMP_FILE.exists() or STAMP_FILE.read_text().strip() != pom_hash():
        raise KafkaUnavailable("services/kafka/pom.xml changed since its jars were resolved (`make kafka`)")
    classpath = CLASSPATH_FILE.read_text().strip()
    missing = [jar for jar in classpath.split(os.pathsep) if not Path(jar).exists()]
    if not classpath or missing:
        raise KafkaUnavailable(f"{len(missing)} of Kafka's jars are gone (run `make kafka`)")
    return classpath


def kafka_unavailable_reason(which: Callable[[str], str | None] = shutil.which) -> str | None:
    """None when Kafka can start here, else why not (one line)."""
    try:
        find_java(which)
        resolved_classpath()
    except KafkaUnavailable as exc:
        return str(exc)
    return None


def new_cluster_id() -> str:
    """A Kafka Uuid as its tools print it: 16 random bytes, URL-safe base64, no padding, no leading '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the JVM binds: TIME_WAIT is no obstacle
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _choose_ports(kdir: Path, port: int | None) -> tuple[int, int]:
    """The client port (given, else the last one if free, else any) and the controller's, never equal."""
    saved: dict[str, int] = {}
    try:
        saved = {k: int(v) for k, v in json.loads((kdir / "ports.json").read_text()).items()}
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    if port is None:
        last = saved.get("port")
        port = last if last and _port_free(last) else free_port()
    controller = saved.get("controller_port")
    if not controller or controller == port or not _port_free(controller):
        controller = free_port()
        while controller == port:
            controller = free_port()
    return port, controller


def broker_properties(logs: Path, port: int, controller_port: int, overrides: Mapping[str, str]) -> str:
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(logs),
        **BROKER_SETTINGS,
        **overrides,
    }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def _format_storage(
    java: str, classpath: str, jvm: Sequence[str], kdir: Path, log_path: Path, extra: Sequence[str] = ()
) -> None:
    """Write meta.properties and the bootstrap metadata once, with the data dir's own cluster id."""
    id_file = kdir / "cluster-id"
    if not id_file.exists():
        id_file.write_text(new_cluster_id() + "\n")
    cluster_id = id_file.read_text().strip()
    proc = spawn(
        [
            java,
            *jvm,
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            cluster_id,
            "--config",
            str(kdir / "server.properties"),
            "--ignore-formatted",
            *extra,
        ],
        log_path=log_path,
        detached=False,
    )
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise ServiceError("kafka storage format did not finish within 60 s") from None
    if code != 0:
        raise ServiceError(f"kafka storage format failed with code {code}; see {log_path}")


class _Exited(Exception):
    pass


async def _probe(bootstrap: str, marks: dict[str, float], auth: Mapping[str, str]) -> None:
    """Ready means: metadata answers, the group coordinator is found and a transactional producer gets
    its id. The last two make the broker create `__consumer_offsets` and `__transaction_state` now, so the
    first worker neither waits for them nor falls back to at-least-once."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.client import AIOKafkaClient, CoordinationType
    from aiokafka.errors import KafkaError

    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000, **auth)
    try:
        while True:
            try:
                await client.bootstrap()
                marks["metadata"] = time.monotonic()
                break
            except (KafkaError, OSError):
                await asyncio.sleep(0.1)
        while True:
            try:
                await client.coordinator_lookup(CoordinationType.GROUP, "solbot-ready")
                marks["group_coordinator"] = time.monotonic()
                break
            except KafkaError:  # GroupCoordinatorNotAvailable while __consumer_offsets is made
                await asyncio.sleep(0.1)
    finally:
        await client.close()
    while True:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, transactional_id="solbot-ready", request_timeout_ms=10_000, **auth
        )
        try:
            await producer.start()
            marks["producer_id"] = time.monotonic()
            return
        except (KafkaError, OSError):
            await asyncio.sleep(0.1)
        finally:
            try:
                await producer.stop()
            except Exception:  # a producer that never started may fail to stop; nothing to release
                pass


async def _watched_probe(
    bootstrap: str,
    timeout_s: float,
    stop: Callable[[], bool],
    marks: dict[str, float],
    auth: Mapping[str, str],
) -> None:
    """Run the probe; give up at once when `stop()` holds (the JVM died, or the caller was interrupted)."""
    task = asyncio.create_task(_probe(bootstrap, marks, auth))
    deadline = asyncio.get_running_loop().time() + timeout_s
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=0.05)
            if stop():
                raise _Exited
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError
        task.result()
    finally:
        if not task.done():
            task.cancel()
            try:
                await task
            except BaseException:  # cancelled, or failed while cancelled: either way it is over
                pass


def wait_ready(
    proc: subprocess.Popen[bytes],
    port: int,
    log_path: Path,
    timeout_s: float,
    auth: Mapping[str, str] | None = None,
) -> dict[str, float]:
    """Port first (cheap), then the client-level probe, in a thread so a running event loop is no bar.

    Returns when each step answered (monotonic seconds), for the start-up figures."""
    t0 = time.monotonic()
    wait_until(
        lambda: port_open("127.0.0.1", port),
        timeout_s=timeout_s,
        what="broker (kafka)",
        proc=proc,
        log_path=log_path,
    )
    marks = {"port": time.monotonic()}
    remaining = max(1.0, timeout_s - (time.monotonic() - t0))
    cancelled = threading.Event()

    def stop() -> bool:
        return cancelled.is_set() or proc.poll() is not None

    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="kafka-ready")
    try:
        probe = _watched_probe(f"127.0.0.1:{port}", remaining, stop, marks, auth or {})
        pool.submit(asyncio.run, probe).result()
    except _Exited:
        code = proc.poll()
        raise ServiceError(f"broker (kafka) exited with code {code} in start-up; see {log_path}") from None
    except TimeoutError:
        raise ServiceError(f"broker (kafka) was not ready within {timeout_s:.0f} s; see {log_path}") from None
    finally:
        cancelled.set()
        pool.shutdown(wait=True)
    return marks


def data_dir_held(logs: Path) -> bool:
    """A live broker holds `logs` (Kafka takes a POSIX lock on `<log.dirs>/.lock` while it runs)."""
    try:
        fd = os.open(logs / ".lock", os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also drops our test lock
    return False


def _held_beyond(logs: Path, wait_s: float) -> bool:
    """Whether a broker still holds `logs` after `wait_s`. A SIGKILLed JVM shows as a zombie (dead, for
    `pid_alive`) as soon as its main thread is gone, while its other threads still hold the lock for a
    moment: a restart right after such a kill waits for it instead of refusing."""
    deadline = time.monotonic() + wait_s
    while data_dir_held(logs):
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.1)
    return False


def start_kafka(
    data_dir: Path,
    *,
    port: int | None = None,
    detached: bool = False,
    jvm_options: Sequence[str] = JVM_OPTIONS,
    overrides: Mapping[str, str] | None = None,
    timeout_s: float = READY_TIMEOUT_S,
    sasl: bool = False,
) -> KafkaHandle:
    """Start (formatting the storage on first use) and wait until clients can use groups and transactions.

    Attached brokers die with this process (PDEATHSIG: SIGTERM, a controlled shutdown); detached ones are
    for `solbot services up`. A failed start leaves no JVM behind. `sasl`: SCRAM-SHA-512 only, with the
    data dir's generated credential (services/kafka/sasl.py).
    """
    t0 = time.monotonic()
    java = find_java()
    classpath = resolved_classpath()
    kdir = (data_dir / "kafka").resolve()
    logs = kdir / "data"
    logs.mkdir(parents=True, exist_ok=True)
    if _held_beyond(logs, LOCK_RELEASE_WAIT_S):
        raise StackConflict(
            f"Kafka data directory {logs} is in use by a broker this data dir's stack did not start; "
            "stop it or set another DATA_DIR"
        )
    port, controller_port = _choose_ports(kdir, port)
    props = kdir / "server.properties"
    formatted = not (logs / "meta.properties").exists()
    credential = credential_for(kdir, formatting=formatted) if sasl else None
    settings = dict(overrides or {})
    if credential is not None:
        settings = {**listener_properties(port, controller_port, credential), **settings}
    write_private(props, broker_properties(logs, port, controller_port, settings))  # may hold a password
    log_path = data_dir / "broker.log"
    if formatted:
        extra = format_arguments(credential) if credential is not None else []
        _format_storage(java, classpath, jvm_options, kdir, log_path, extra)
    marks = {"formatted": time.monotonic()}
    proc = spawn(
        [java, *jvm_options, "-cp", classpath, "kafka.Kafka", str(props)],
        log_path=log_path,
        detached=detached,
    )
    try:
        auth = client_options(credential) if credential is not None else None
        marks.update(wait_ready(proc, port, log_path, timeout_s, auth))
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    (kdir / "ports.json").write_text(json.dumps({"port": port, "controller_port": controller_port}))
    handle = KafkaHandle(
        pid=proc.pid,
        port=port,
        controller_port=controller_port,
        url=f"kafka://127.0.0.1:{port}",
        data_dir=kdir,
        version=KAFKA_VERSION,
        startup_s=round(time.monotonic() - t0, 2),
        formatted=formatted,
        phases={step: round(at - t0, 2) for step, at in marks.items()},
        credential=credential,
    )
    log.debug("%s", handle.describe())
    return handle
