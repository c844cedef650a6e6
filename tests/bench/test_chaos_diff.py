"""`bench.chaos_diff`: which records a chaos run has otherwise than its calm run, in event-time order."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chaos_diff import differences, main


def test_records_only_in_one_run_or_with_other_contents_are_listed_by_event_time() -> None:
    calm = {
        "a": {"id": "a", "ts_ms": 3, "price": 1.0, "origin_ms": 10},
        "b": {"id": "b", "ts_ms": 1, "features": {"trades_10s": 723.0, "ret_1s": 0.1}},
        "c": {"id": "c", "ts_ms": 2, "price": 2.0},
    }
    chaos = {
        "a": {"id": "a", "ts_ms": 3, "price": 1.0, "origin_ms": 99},  # a wall-clock stamp only: the same
        "b": {"id": "b", "ts_ms": 1, "features": {"trades_10s": 275.0, "ret_1s": 0.1}},
        "d": {"id": "d", "ts_ms": 0, "price": 3.0},
    }
    assert differences(calm, chaos) == [
        (0, "d", "only in the chaos run"),
        (1, "b", "differs in trades_10s"),
        (2, "c", "only in the calm run"),
    ]


def test_a_directory_without_a_kept_run_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "no kept run" in out
