import asyncio
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest
import redis

from core.errors import ServiceError
from core.settings import Settings, load_settings
from services import stack as stack_mod
from services.process import pid_alive, port_open
from services.stack import Stack, services_down, services_status
from services.stack_file import read_state


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
    if st.broker is not None and st.broker.kind == "kafka":  # SASL by default; the reuser hands it on
        credential = Path(again.env()["BROKER_SASL_CREDENTIAL_FILE"])
        assert credential == tmp_path.resolve() / "kafka" / "credential.json"
        assert stat.S_IMODE(credential.stat().st_mode) == 0o600
    again.stop()
    assert all(pid_alive(p) for p in pids)
    assert sorted(services_down(settings)) == ["broker", "postgres", "redis"]
    assert not any(pid_alive(p) for p in pids)


def _postgres_only(data_dir: Path) -> Settings:
    """Postgres embedded, the rest pointed elsewhere: the cheapest stack with a data directory to share."""
    return load_settings(
        data_dir=data_dir, broker_url="kafka://127.0.0.1:1", redis_url="redis://127.0.0.1:1/0"
    )


def test_a_second_stack_reuses_the_first_and_leaves_it_running(tmp_path: Path) -> None:
    settings = _postgres_only(tmp_path)
    owner = Stack(settings).start()
    try:
        pid_file = tmp_path / "pgdata" / "postmaster.pid"
        lock = pid_file.read_text()
        with Stack(settings) as reuser:
            assert reuser.reused == ["postgres"]
            assert reuser.database_url == owner.database_url
            assert "stops them when it ends" in reuser.describe_reused()
        assert pid_file.read_text() == lock
        assert asyncio.run(_pg_version(owner.database_url)).startswith("PostgreSQL")
        assert services_down(settings) == []  # a running command's stack is its own to stop
        assert pid_alive(owner.components["postgres"].pid or 0)
    finally:
        owner.stop()
    assert not (tmp_path / "services.json").exists()


def test_the_owner_stops_postgres_at_once_while_a_reuser_is_connected(tmp_path: Path) -> None:
    settings = _postgres_only(tmp_path)
    owner = Stack(settings).start()
    reuser = Stack(settings).start()
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(reuser.database_url))
    try:
        t0 = time.monotonic()
        owner.stop()
        assert time.monotonic() - t0 < 8  # a fast shutdown, not 10 s of waiting for the client then SIGKILL
        assert not (tmp_path / "pgdata" / "postmaster.pid").exists()  # a clean exit removes its lock file
        reuser.stop()  # stops nothing: it started nothing
    finally:
        loop.run_until_complete(conn.close(timeout=1))
        loop.close()


OWNER = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from core.settings import load_settings\n"
    "from services.stack import Stack\n"
    "s = load_settings(data_dir=Path(sys.argv[1]), broker_url='kafka://127.0.0.1:1', redis_url='redis://127.0.0.1:1/0')\n"
    "st = Stack(s).start()\n"
    "print(st.components['postgres'].pid, st.database_url, flush=True)\n"
    "time.sleep(120)\n"
)


def test_postgres_of_a_killed_owner_goes_at_once_though_a_client_is_connected(tmp_path: Path) -> None:
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    pid_text, url = owner.stdout.readline().split()
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(url))
    try:
        owner.kill()
        owner.wait()
        deadline = time.monotonic() + 8  # SIGTERM (a smart shutdown) would wait for our client forever
        while pid_alive(int(pid_text)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pid_alive(int(pid_text))
    finally:
        loop.run_until_complete(conn.close(timeout=1))
        loop.close()


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
        now = st.components["broker"]
        assert (handle.port, now.pid, now.port) == (port, handle.pid, port) and handle.pid != first
        # Other commands find the broker by the stack file: it names the new process.
        assert read_state(st.state_file)["broker"].pid == handle.pid
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
