import asyncio
import os
import signal
import time
from pathlib import Path

import asyncpg
import pytest
import redis

from core.errors import ServiceError
from core.settings import load_settings
from services import stack as stack_mod
from services.process import pid_alive, port_open
from services.stack import Stack, services_down, services_status


def test_embedded_stack_serves_and_stops_cleanly(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    with Stack(settings) as st:
        pids = [c.pid for c in st.components.values()]
        assert all(pids)
        assert redis.Redis.from_url(st.redis_url).ping()
        version = asyncio.run(_pg_version(st.database_url))
        assert version.startswith("PostgreSQL")
        port = st.components["broker"].port
        assert port and port_open("127.0.0.1", port)
    assert not any(pid_alive(p) for p in pids if p)


async def _pg_version(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("select version()"))
    finally:
        await conn.close()


def test_a_failed_start_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []
    real_start_redis = stack_mod.start_redis

    def track_redis(*a: object, **kw: object):  # type: ignore[no-untyped-def]
        handle = real_start_redis(*a, **kw)  # type: ignore[arg-type]
        started.append(handle.pid)
        return handle

    def broken_broker(*a: object, **kw: object) -> None:
        raise ServiceError("broker (tansu) exited with code 1 during start-up")

    monkeypatch.setattr(stack_mod, "start_redis", track_redis)
    monkeypatch.setattr(stack_mod, "start_broker", broken_broker)
    with pytest.raises(ServiceError):
        Stack(load_settings(data_dir=tmp_path)).start()
    assert started == []  # broker is started first and failed: nothing else was started


def test_external_urls_are_used_and_never_stopped(tmp_path: Path, stack: Stack) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        broker_url=stack.broker_url,
        database_url=stack.database_url,
        redis_url=stack.redis_url,
    )
    with Stack(settings) as st:
        assert st.env() == {
            "BROKER_URL": stack.broker_url,
            "DATABASE_URL": stack.database_url,
            "REDIS_URL": stack.redis_url,
        }
        assert not any(c.embedded for c in st.components.values())
    assert redis.Redis.from_url(stack.redis_url).ping()


def test_services_up_down_status(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    st = Stack(settings).start(detached=True)
    pids = [c.pid for c in st.components.values() if c.pid]
    status = services_status(settings)
    assert all(running for _, running in status.values())
    again = Stack(settings).start()  # a later run reuses the detached servers
    assert again.broker_url == st.broker_url
    again.stop()
    assert all(pid_alive(p) for p in pids)
    assert sorted(services_down(settings)) == ["broker", "postgres", "redis"]
    assert not any(pid_alive(p) for p in pids)


def test_a_dead_broker_is_seen_and_restarted_on_its_port(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, embedded_broker="tansu")
    with Stack(settings) as st:
        comp = st.components["broker"]
        first, port = comp.pid, comp.port
        assert first and port and not st.broker_died()
        os.kill(first, signal.SIGKILL)
        for _ in range(100):
            if st.broker_died():
                break
            time.sleep(0.05)
        assert st.broker_died()
        handle = st.restart_broker()
        assert (handle.port, comp.pid, comp.port) == (port, handle.pid, port) and handle.pid != first
        assert port_open("127.0.0.1", port) and not st.broker_died()
    assert not pid_alive(handle.pid)


def test_an_external_broker_is_not_ours_to_restart(tmp_path: Path, stack: Stack) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        broker_url=stack.broker_url,
        database_url=stack.database_url,
        redis_url=stack.redis_url,
    )
    with Stack(settings) as st:
        assert not st.broker_died()
        with pytest.raises(ServiceError, match="cannot restart"):
            st.restart_broker()
