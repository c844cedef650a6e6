"""The component stack of one data dir: each of broker, Postgres and Redis from its URL setting, else the
one already running for the data dir, else embedded and started here.

Commands share one stack per data dir (services/stack_file.py): `Stack.start()` reuses what a running
command or `services up` recorded and starts only what is missing; `Stack.stop()` stops exactly what it
started, also after a partial failure, and leaves reused servers running. Servers started attached die with
the command that started them; `services up` starts detached ones that live until `services down`.
"""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ServiceError, StackConflict
from core.settings import Settings
from services.broker import BrokerHandle, start_broker
from services.postgres import PostgresHandle, start_postgres
from services.process import pid_alive, terminate
from services.redis import RedisHandle, start_redis
from services.stack_file import (
    STATE_NAME,
    Component,
    Liveness,
    liveness,
    locked,
    read_state,
    started_component,
    write_state,
)

log = logging.getLogger(__name__)

COMPONENTS = ("broker", "postgres", "redis")
# PostgreSQL's SIGTERM waits for every client to leave; a command reusing the stack may still be connected.
STOP_SIGNALS = {"postgres": signal.SIGINT}  # fast shutdown: disconnect clients, checkpoint, exit
ENV_NAMES = {"broker": "BROKER_URL", "postgres": "DATABASE_URL", "redis": "REDIS_URL"}

__all__ = ["COMPONENTS", "ENV_NAMES", "Component", "Stack", "services_down", "services_status"]


@dataclass
class Stack:
    settings: Settings
    components: dict[str, Component] = field(default_factory=dict)
    broker: BrokerHandle | None = None  # set when this stack started the broker (its kind, start-up time)
    reused: list[str] = field(default_factory=list)  # components another command runs for this data dir
    _started: list[Component] = field(default_factory=list)

    @property
    def state_file(self) -> Path:
        return self.settings.data_dir / STATE_NAME

    @property
    def broker_url(self) -> str:
        return self.components["broker"].url

    @property
    def database_url(self) -> str:
        return self.components["postgres"].url

    @property
    def redis_url(self) -> str:
        return self.components["redis"].url

    def env(self) -> dict[str, str]:
        """The settings that point child processes at this stack: URLs, and the broker credential's path
        (the password stays in its 0600 file, out of every command line and environment)."""
        env = {ENV_NAMES[c.name]: c.url for c in self.components.values()}
        broker = self.components.get("broker")
        if broker is not None and broker.credential_file is not None:
            env["BROKER_SASL_CREDENTIAL_FILE"] = broker.credential_file
        return env

    def describe_reused(self) -> str:
        """One line for the operator: what this command shares, and whose it is to stop."""
        owners = sorted({c.owner for n, c in self.components.items() if n in self.reused and c.owner})
        whose = "`services down` stops them"
        if owners:
            whose = f"solbot pid {', '.join(map(str, owners))} stops them when it ends"
        return f"reusing the {', '.join(self.reused)} running for {self.settings.data_dir} ({whose})"

    def start(self, *, detached: bool = False) -> Stack:
        """Resolve every component: URL setting, then the server running for the data dir, then start one."""
        data_dir = self.settings.data_dir
        external = {
            "broker": self.settings.broker_url,
            "postgres": self.settings.database_url,
            "redis": self.settings.redis_url,
        }
        with locked(data_dir):
            recorded = read_state(self.state_file)
            try:
                for name in COMPONENTS:
                    url = external[name]
                    if url:
                        self.components[name] = Component(name, url)
                        continue
                    prior = recorded.pop(name, None)
                    if prior is not None and _reusable(prior, self.state_file):
                        recorded[name] = self.components[name] = prior
                        self.reused.append(name)
                        continue
                    comp = self._start_one(name, data_dir, detached)
                    recorded[name] = self.components[name] = comp
                    self._started.append(comp)
                    write_state(self.state_file, recorded)  # at once: a crash later leaves a true file
            except BaseException:
                self._stop_locked()
                raise
            write_state(self.state_file, recorded)
        if self.reused:
            log.info("%s", self.describe_reused())
        return self

    def _start_one(self, name: str, data_dir: Path, detached: bool) -> Component:
        handle: BrokerHandle | PostgresHandle | RedisHandle
        if name == "broker":
            handle = self.broker = start_broker(
                data_dir,
                detached=detached,
                embedded_broker=self.settings.embedded_broker,
                sasl=self.settings.embedded_broker_sasl,
            )
            return started_component(
                name,
                handle.url,
                handle.pid,
                handle.port,
                detached=detached,
                credential_file=handle.credential_file,
            )
        elif name == "postgres":
            handle = start_postgres(data_dir, detached=detached)
        else:
            handle = start_redis(data_dir, detached=detached)
        return started_component(name, handle.url, handle.pid, handle.port, detached=detached)

    def broker_died(self) -> bool:
        """True when the broker this stack started has exited (a crash, the OOM killer, `kill -9`)."""
        comp = self.components.get("broker")
        return comp is not None and comp.pid is not None and comp in self._started and not pid_alive(comp.pid)

    def restart_broker(self) -> BrokerHandle:
        """Start the broker this stack started again, on the same port and data dir, so clients reconnect
        to the address they know. Blocks until it is ready, like the first start."""
        comp = self.components["broker"]
        if comp.pid is None or comp not in self._started:
            raise ServiceError("the broker is not one this run started: it cannot restart it")
        terminate(comp.pid)  # reaps the dead one (and makes sure it is dead)
        data_dir = self.settings.data_dir
        with locked(data_dir):  # other commands reuse the broker by its record: it must name the new one
            self.broker = start_broker(
                data_dir,
                port=comp.port,
                embedded_broker=self.settings.embedded_broker,
                sasl=self.settings.embedded_broker_sasl,
            )
            new = started_component(
                "broker",
                self.broker.url,
                self.broker.pid,
                self.broker.port,
                detached=False,
                credential_file=self.broker.credential_file,
            )
            self._started[self._started.index(comp)] = self.components["broker"] = new
            recorded = read_state(self.state_file)
            recorded["broker"] = new
            write_state(self.state_file, recorded)
        return self.broker

    def stop(self) -> None:
        """Stop what this stack started, newest first; servers it reused keep running."""
        if not self._started:
            return
        with locked(self.settings.data_dir):
            self._stop_locked()

    def _stop_locked(self) -> None:
        """Unrecord, then stop: a command starting meanwhile waits for the lock and then starts afresh."""
        recorded = read_state(self.state_file)
        for comp in self._started:
            mine = recorded.get(comp.name)
            if mine is not None and mine.pid == comp.pid:
                del recorded[comp.name]
        write_state(self.state_file, recorded)
        while self._started:
            _stop(self._started.pop())

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _stop(comp: Component) -> None:
    terminate(comp.pid or 0, sig=STOP_SIGNALS.get(comp.name, signal.SIGTERM))


def _reusable(prior: Component, state_file: Path) -> bool:
    """True to reuse `prior`; False when its record is stale (cleaned here); raises when it is held."""
    state = liveness(prior)
    if state is Liveness.RUNNING:
        return True
    if state is Liveness.ORPHANED:  # its owner was killed: finish what PR_SET_PDEATHSIG began
        log.warning("stopping the %s (pid %s) left by a killed solbot command", prior.name, prior.pid)
        _stop(prior)
    elif state is Liveness.SILENT:
        raise StackConflict(
            f"the {prior.name} recorded in {state_file} (pid {prior.pid}, port {prior.port}) is running but "
            "does not answer; stop it (`solbot services down`, or kill it) and retry"
        )
    return False


def services_down(settings: Settings) -> list[str]:
    """Stop every server `services up` recorded; returns the names stopped.

    Servers a running command started (`solbot run`) are its to stop: they are left alone."""
    stopped = []
    with locked(settings.data_dir):
        state = settings.data_dir / STATE_NAME
        recorded = read_state(state)
        for name, comp in list(recorded.items()):
            status = liveness(comp)
            if status is Liveness.GONE:
                del recorded[name]
            elif comp.owner is None or status is Liveness.ORPHANED:
                _stop(comp)
                del recorded[name]
                stopped.append(name)
            else:
                log.warning("%s is left running: solbot pid %s started it and stops it", name, comp.owner)
        write_state(state, recorded)
    return stopped


def services_status(settings: Settings) -> dict[str, tuple[str, bool]]:
    """name -> (url, running) for each component, external ones included."""
    recorded = read_state(settings.data_dir / STATE_NAME)
    external = {"broker": settings.broker_url, "postgres": settings.database_url, "redis": settings.redis_url}
    out: dict[str, tuple[str, bool]] = {}
    for name in COMPONENTS:
        if external[name]:
            out[name] = (external[name] or "", True)
        elif name in recorded:
            comp = recorded[name]
            out[name] = (comp.url, liveness(comp) is Liveness.RUNNING)
        else:
            out[name] = ("", False)
    return out
