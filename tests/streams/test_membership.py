"""A worker refuses to join a group whose running workers use another processing guarantee."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from core.config import Loaded
from core.errors import ConfigError
from core.settings import Settings
from solbot import cli
from streams.app import build_app
from streams.broker import bootstrap_of
from streams.membership import guarantee_of, refuse_mixed, running_guarantees, worker_client_id


def test_the_client_id_names_the_guarantee() -> None:
    for guarantee in ("at_least_once", "exactly_once"):
        assert guarantee_of(worker_client_id(guarantee)) == guarantee
    assert guarantee_of("faust-0.15.3") is None
    assert guarantee_of("solbot-worker-maybe") is None


def test_a_worker_app_carries_its_guarantee_in_its_client_id(tmp_path: Path) -> None:
    app = build_app(Settings(processing_guarantee="exactly_once", data_dir=tmp_path))
    assert app.conf.broker_client_id == "solbot-worker-exactly_once"


def test_only_a_different_guarantee_is_refused() -> None:
    refuse_mixed("solbot", "exactly_once", set())
    refuse_mixed("solbot", "exactly_once", {"exactly_once"})
    with pytest.raises(ConfigError) as refused:
        refuse_mixed("solbot", "at_least_once", {"exactly_once"})
    assert str(refused.value) == (
        "worker refuses to start: the running workers of group 'solbot' use exactly_once, this one "
        "at_least_once; set PROCESSING_GUARANTEE=exactly_once or stop them first"
    )


@pytest.mark.integration
async def test_a_worker_with_another_guarantee_than_the_group_exits_with_one_line(
    broker_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    group = f"membership-{tmp_path.name}"
    bootstrap = bootstrap_of(broker_url)
    member = AIOKafkaConsumer(
        "raw.swaps", bootstrap_servers=bootstrap, group_id=group, client_id=worker_client_id("exactly_once")
    )
    await member.start()
    try:
        for _ in range(400):  # joined: the coordinator lists it
            if member.assignment():
                break
            await asyncio.sleep(0.05)
        assert await running_guarantees(bootstrap, group) == {"exactly_once"}
        assert await running_guarantees(bootstrap, group + "-empty") == set()
        settings = Settings(
            broker_url=broker_url,
            app_id=group,
            processing_guarantee="at_least_once",
            broker_kind="kafka",
            data_dir=tmp_path,
        )
        monkeypatch.setattr(cli, "load_config", lambda **kwargs: Loaded(settings=settings, origins={}))
        with pytest.raises(SystemExit) as exited:
            await asyncio.to_thread(cli.main, ["worker"])
    finally:
        await member.stop()
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"solbot: worker refuses to start: the running workers of group {group!r} use exactly_once, this "
        "one at_least_once; set PROCESSING_GUARANTEE=exactly_once or stop them first"
    ]
    assert not (tmp_path / "faust").exists()
