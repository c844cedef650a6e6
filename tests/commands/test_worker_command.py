"""`solbot worker` started alone runs the broker identity check `solbot run` runs (solbot/cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import services.reachable
import solbot.identity
import store.migrate
import streams.membership
from core.config import Loaded
from core.errors import BrokerMismatch
from core.settings import Settings
from solbot import cli


def test_a_worker_bound_to_another_broker_refuses_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checked: list[tuple[str, str]] = []

    async def migrate(url: str) -> list[str]:
        return []

    async def check(bootstrap: str, url: str, auth: object = None) -> None:
        checked.append((bootstrap, url))
        raise BrokerMismatch(
            "the database's sink offsets were written against another broker; run `solbot reset`"
        )

    monkeypatch.setattr(store.migrate, "migrate", migrate)
    monkeypatch.setattr(solbot.identity, "check_broker_identity", check)

    async def running(bootstrap: str, group: str, auth: object = None) -> set[str]:
        return {"exactly_once"}  # the same guarantee as this worker's: no refusal

    monkeypatch.setattr(streams.membership, "running_guarantees", running)
    settings = Settings(
        broker_url="kafka://127.0.0.1:9",
        database_url="postgresql://u@127.0.0.1:9/db",
        processing_guarantee="exactly_once",
        broker_kind="kafka",
        data_dir=tmp_path,
    )
    monkeypatch.setattr(cli, "load_config", lambda **kwargs: Loaded(settings=settings, origins={}))
    monkeypatch.setattr(services.reachable, "require_reachable", lambda setting, url: None)  # "up"
    with pytest.raises(SystemExit) as exited:
        cli.main(["worker"])
    assert exited.value.code == 3
    assert checked == [("127.0.0.1:9", "postgresql://u@127.0.0.1:9/db")]
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "solbot: the database's sink offsets were written against another broker; run `solbot reset`"
    ]
    assert not (tmp_path / "faust").exists()  # refused before the worker set anything up
