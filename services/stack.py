"""The component stack of one run: each of broker, Postgres and Redis from its URL setting, or embedded.

`Stack.start()` starts what is missing and `Stack.stop()` stops exactly what it started, also after a
partial failure. `services up` starts detached servers and records them in `<data_dir>/services.json`,
which later runs (and `services down`) reuse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ServiceError
from core.settings import Settings
from services.broker import BrokerHandle, start_broker
from services.postgres import PostgresHandle, start_postgres
from services.process import pid_alive, port_open, terminate
from services.redis import RedisHandle, start_redis

COMPONENTS = ("broker", "postgres", "redis")
ENV_NAMES = {"broker": "BROKER_URL", "postgres": "DATABASE_URL", "redis": "REDIS_URL"}


@dataclass
class Component:
    name: str
    url: str
    pid: int | None = None  # None: external, not ours to stop
    port: int | None = None

    @property
    def embedded(self) -> bool:
        return self.pid is not None


@dataclass
class Stack:
    settings: Settings
    components: dict[str, Component] = field(default_factory=dict)
    broker: BrokerHandle | None = None  # set when this stack started the broker (its kind, start-up time)
    _started: list[Component] = field(default_factory=list)

    @property
    def state_file(self) -> Path:
        return self.settings.data_dir / "services.json"

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
        """The URL settings that point child processes at this stack."""
        return {ENV_NAMES[c.name]: c.url for c in self.components.values()}

    def start(self, *, detached: bool = False) -> Stack:
        """Resolve every component: URL setting, then a running `services up` server, then start one."""
        data_dir = self.settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        external = {
            "broker": self.settings.broker_url,
            "postgres": self.settings.database_url,
            "redis": self.settings.redis_url,
        }
        recorded = read_state(self.state_file)
        try:
            for name in COMPONENTS:
                url = external[name]
                if url:
                    self.components[name] = Component(name, url)
                    continue
                prior = recorded.get(name)
                if (
                    prior is not None
                    and prior.pid
                    and pid_alive(prior.pid)
                    and prior.port
                    and port_open("127.0.0.1", prior.port)
                ):
                    self.components[name] = Component(name, prior.url)  # reused, not ours to stop
                    continue
                handle: BrokerHandle | PostgresHandle | RedisHandle
                if name == "broker":
                    handle = self.broker = start_broker(
                        data_dir, detached=detached, embedded_broker=self.settings.embedded_broker
                    )
                elif name == "postgres":
                    handle = start_postgres(data_dir, detached=detached)
                else:
                    handle = start_redis(data_dir, detached=detached)
                comp = Component(name, handle.url, pid=handle.pid, port=handle.port)
                self.components[name] = comp
                self._started.append(comp)
        except BaseException:
            self.stop()
            raise
        if detached:
            write_state(self.state_file, {**recorded, **{c.name: c for c in self._started}})
        return self

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
        self.broker = start_broker(
            self.settings.data_dir, port=comp.port, embedded_broker=self.settings.embedded_broker
        )
        comp.pid = self.broker.pid
        return self.broker

    def stop(self) -> None:
        """Stop what this stack started, newest first."""
        while self._started:
            terminate(self._started.pop().pid or 0)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def read_state(path: Path) -> dict[str, Component]:
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text())
        return {name: Component(**value) for name, value in raw.items()}
    except (ValueError, TypeError):
        return {}


def write_state(path: Path, comps: dict[str, Component]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({n: c.__dict__ for n, c in comps.items()}, indent=2))


def services_down(settings: Settings) -> list[str]:
    """Stop every server `services up` recorded; returns the names stopped."""
    state = settings.data_dir / "services.json"
    stopped = []
    for name, comp in read_state(state).items():
        if comp.pid and pid_alive(comp.pid):
            terminate(comp.pid)
            stopped.append(name)
    if state.exists():
        state.unlink()
    return stopped


def services_status(settings: Settings) -> dict[str, tuple[str, bool]]:
    """name -> (url, running) for each component, external ones included."""
    recorded = read_state(settings.data_dir / "services.json")
    external = {"broker": settings.broker_url, "postgres": settings.database_url, "redis": settings.redis_url}
    out: dict[str, tuple[str, bool]] = {}
    for name in COMPONENTS:
        if external[name]:
            out[name] = (external[name] or "", True)
        elif name in recorded:
            comp = recorded[name]
            out[name] = (comp.url, bool(comp.pid and pid_alive(comp.pid)))
        else:
            out[name] = ("", False)
    return out
