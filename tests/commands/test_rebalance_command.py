"""`solbot rebalance PAIR=FRACTION ...` validates its targets and publishes one rebalance Control."""

from __future__ import annotations

import argparse
import asyncio

import pytest

from core.settings import Settings
from solbot.audit import read_topic
from solbot.commands import rebalance
from streams.broker import bootstrap_of


def test_targets_are_parsed_and_bad_ones_named() -> None:
    assert rebalance.parse_targets(["JUP/USDC=0.04", "SOL/USDC=0"]) == (
        {"JUP/USDC": 0.04, "SOL/USDC": 0.0},
        [],
    )
    assert rebalance.parse_targets(["JUP/USDC", "X=y", "JUP/USDC=1", "JUP/USDC=2"])[1] == [
        "JUP/USDC",
        "X=y",
        "JUP/USDC=2",
    ]


def test_rebalance_publishes_a_control_record(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(targets=["JUP/USDC=0.08", "SOL/USDC=0.02"], reason="quarterly")
    assert rebalance.main(settings, args) == 0
    out = capsys.readouterr().out
    assert "JUP/USDC: 0.08 is above MAX_POSITION_PCT, risk caps it at 0.05" in out
    records = asyncio.run(read_topic(bootstrap_of(settings.broker_url or ""), "control"))
    mine = [r for r in records if r.get("reason") == "quarterly"]
    assert mine[-1]["action"] == "rebalance" and mine[-1]["targets"] == {"JUP/USDC": 0.08, "SOL/USDC": 0.02}
    assert mine[-1]["id"].startswith("ctl:rebalance:")


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (["JUP=0.1"], "pair must be BASE/QUOTE"),
        (["NOPE/USDC=0.1"], "not a traded pair"),
        (["JUP/USDC=1.5"], "outside [0, 1]"),
        (["JUP/USDC=-0.1"], "outside [0, 1]"),
        (["JUP/USDC=0.6", "SOL/USDC=0.6"], "sum to 1.2 > 1"),
        (["JUP/USDC=half"], "not PAIR=FRACTION"),
    ],
)
def test_bad_targets_exit_2_without_publishing(
    settings: Settings, capsys: pytest.CaptureFixture[str], targets: list[str], message: str
) -> None:
    assert rebalance.main(settings, argparse.Namespace(targets=targets, reason="bad")) == 2
    assert message in capsys.readouterr().err
