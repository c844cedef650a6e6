"""Structured logs and the correlation id that ties a fill back to its raw record."""

from __future__ import annotations

import json
import logging

import pytest

from core.logs import JsonFormatter, OutageLog, RepeatFilter, correlation_of


def test_every_downstream_id_leads_back_to_its_snapshot() -> None:
    snap = "SOL/USDC@1700000000500"
    for any_id in (f"sig:{snap}", f"ord:sig:{snap}", f"rej:sig:{snap}", f"fill:ord:sig:{snap}", snap):
        assert correlation_of(any_id) == snap
    for strategy_id in (f"sig:{snap}:grid", f"ord:sig:{snap}:trend", f"fill:ord:sig:{snap}:mean_reversion"):
        assert correlation_of(strategy_id) == snap
    assert correlation_of("exit:SOL/USDC:1700000000500:stop_loss") == "exit:SOL/USDC:1700000000500:stop_loss"


def test_json_lines_carry_extras() -> None:
    record = logging.makeLogRecord(
        {
            "name": "agents.execution",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "fill",
            "correlation_id": "SOL/USDC@1",
            "offset": 7,
            "status": "filled",
        }
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "fill"
    assert line["level"] == "info"
    assert (line["correlation_id"], line["offset"], line["status"]) == ("SOL/USDC@1", 7, "filled")
    assert line["ts"].endswith("Z")


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = OutageLog(logging.getLogger("t.outage"), "prices not written")
    with caplog.at_level(logging.INFO, logger="t.outage"):
        outage.succeeded()  # nothing failed: nothing to say
        for _ in range(500):  # one failure a batch while Redis is down
            outage.failed(ConnectionError("Error 111"))
        outage.succeeded()
        outage.succeeded()
        outage.failed(ConnectionError("again"))
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "prices not written: Error 111 (said once until it works again)"),
        ("INFO", "prices not written works again after 500 failure(s)"),
        ("WARNING", "prices not written: again (said once until it works again)"),
    ]


def test_a_run_of_identical_aiokafka_lines_is_one_line_a_window() -> None:
    filt = RepeatFilter("aiokafka", window_s=30.0)

    def record(name: str, t: float, node: int = 1) -> logging.LogRecord:
        r = logging.makeLogRecord(
            {
                "name": name,
                "levelno": logging.ERROR,
                "msg": "Unable connect to node with id %s",
                "args": (node,),
            }
        )
        r.created = t
        return r

    passed = [r for t in range(0, 60) if filt.filter(r := record("aiokafka", t * 0.5))]  # 30 s, 2 a second
    assert [r.getMessage() for r in passed] == ["Unable connect to node with id 1"]
    later = record("aiokafka", 31.0)
    assert filt.filter(later) and later.getMessage().endswith("(59 more alike held back in 30 s)")
    assert filt.filter(record("aiokafka", 31.5, node=2))  # another line is its own run
    assert all(filt.filter(record("agents.risk", t)) for t in range(5))  # other loggers are untouched
