"""`solbot halt` / `solbot resume` publish one Control record on the `control` topic, keyed by portfolio."""

from __future__ import annotations

import argparse
import asyncio

import pytest
import redis.asyncio as aioredis

from core.settings import Settings, load_settings
from solbot.audit import read_topic
from solbot.commands import control
from store.order_gate import get_fast_control
from streams.broker import bootstrap_of
from streams.records import Control


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
    # The fast path holds the latest control: the resume, which the risk agent applies once.
    fast = asyncio.run(_fast_control(settings))
    assert fast is not None and (fast.id, fast.action) == (mine[1]["id"], "resume")


async def _fast_control(settings: Settings) -> Control | None:
    redis = aioredis.Redis.from_url(settings.redis_url or "")
    try:
        return await get_fast_control(redis, settings.portfolio)
    finally:
        await redis.aclose()


def test_no_broker_exits_1(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    lone = load_settings(data_dir=tmp_path, broker_url=None)
    assert control.main(lone, argparse.Namespace(command="resume")) == 1
    assert "no broker" in capsys.readouterr().err
