"""`solbot halt` / `solbot resume` publish one Control record on the `control` topic, keyed by portfolio."""

from __future__ import annotations

import argparse
import asyncio

import pytest

from solbot.audit import read_topic
from solbot.commands import control
from solbot.settings import Settings, load_settings
from streams.broker_compat import bootstrap_of


def test_halt_and_resume_publish_control_records(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert control.main(settings, argparse.Namespace(command="halt", reason="maintenance", flatten=True)) == 0
    assert control.main(settings, argparse.Namespace(command="resume")) == 0
    printed = capsys.readouterr().out.splitlines()
    assert '"action":"halt"' in printed[0] and '"flatten":true' in printed[0]
    records = asyncio.run(read_topic(bootstrap_of(settings.broker_url or ""), "control"))
    mine = [r for r in records if r.get("reason") in ("maintenance", "")][-2:]
    assert [r["action"] for r in mine] == ["halt", "resume"]
    assert mine[0]["flatten"] is True and mine[0]["id"].startswith("ctl:halt:")


def test_no_broker_exits_1(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    lone = load_settings(data_dir=tmp_path, broker_url=None)
    assert control.main(lone, argparse.Namespace(command="resume")) == 1
    assert "no broker" in capsys.readouterr().err
