"""The stack file of a data dir: which servers run for it, which command started them, under a file lock.

Every command that needs the stack (`solbot run`, `web`, `db migrate`, `simulate`, `retention`, `services
up`) reads `<data_dir>/services.json` while holding an exclusive lock on `<data_dir>/stack.lock`, reuses each
server that is still the process recorded (same pid and start time) and answers on its port, and records
the ones it starts. So commands side by side share one PostgreSQL instead of starting a second one over
its data directory, and two commands starting at once cannot both start one. The kernel drops the lock
when its holder dies, so a kill -9 never leaves it held.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

from services.process import port_open, same_process, start_time

log = logging.getLogger(__name__)

STATE_NAME = "services.json"
LOCK_NAME = "stack.lock"


@dataclass
class Component:
    """One server of the stack, as recorded: external ones have no pid (not ours to stop)."""

    name: str
    url: str
    pid: int | None = None
    port: int | None = None
    since: int | None = None  # the server's start time, so a recycled pid is not taken for it
    owner: int | None = None  # the command it dies with (PR_SET_PDEATHSIG); None: detached (`services up`)
    owner_since: int | None = None
    credential_file: str | None = None  # a SASL broker's credential (services/kafka/sasl.py), by path

    @property
    def embedded(self) -> bool:
        return self.pid is not None


def started_component(
    name: str, url: str, pid: int, port: int, *, detached: bool, credential_file: Path | None = None
) -> Component:
    """The record of a server this process just started."""
    me = os.getpid()
    return Component(
        name,
        url,
        pid=pid,
        port=port,
        since=start_time(pid),
        owner=None if detached else me,
        owner_since=None if detached else start_time(me),
        credential_file=str(credential_file) if credential_file is not None else None,
    )


def recorded_credential_file(data_dir: Path, broker_url: str | None) -> Path | None:
    """The credential of the SASL broker recorded for `data_dir`, when `broker_url` is that broker (or
    unset: the stack will reuse it); None for any other broker. So a command run by hand against a data
    dir's stack signs in without being told how."""
    comp = read_state(data_dir / STATE_NAME).get("broker")
    if comp is None or comp.credential_file is None:
        return None
    if broker_url is not None and broker_url != comp.url:
        return None
    return Path(comp.credential_file)


class Liveness(Enum):
    RUNNING = "running"  # the recorded process, answering on its port: reuse it
    GONE = "gone"  # the process is gone (or its pid now names another): the record is stale
    ORPHANED = "orphaned"  # its owner died (kill -9); it got SIGTERM with it and is on its way out
    SILENT = "silent"  # alive, owner alive, but its port does not answer


def liveness(comp: Component) -> Liveness:
    if comp.pid is None or not same_process(comp.pid, comp.since):
        return Liveness.GONE
    if comp.owner is not None and not same_process(comp.owner, comp.owner_since):
        return Liveness.ORPHANED
    if comp.port is None or not port_open("127.0.0.1", comp.port):
        return Liveness.SILENT
    return Liveness.RUNNING


@contextlib.contextmanager
def locked(data_dir: Path) -> Iterator[None]:
    """Hold the data dir's stack lock; waits (saying so once) while another command starts or stops it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another solbot command starting or stopping the stack in %s", data_dir)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the lock


def read_state(path: Path) -> dict[str, Component]:
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text())
        return {name: Component(**value) for name, value in raw.items()}
    except (ValueError, TypeError, AttributeError):
        return {}


def write_state(path: Path, comps: dict[str, Component]) -> None:
    """Replace the file in one step (a reader never sees half of it); no components, no file."""
    if not comps:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({n: asdict(c) for n, c in comps.items()}, indent=2))
    tmp.replace(path)
