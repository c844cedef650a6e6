"""The bench's CPU hog burns CPU while it runs and leaves nothing behind; its figures keep their keys."""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from bench.contention import CpuHog, contention_figures, contention_rows, hogging


def test_hog_burns_cpu_and_is_gone_after(tmp_path: Path) -> None:
    hog = CpuHog(2, tmp_path)
    with hogging(hog):
        assert hog.alive() == 2
        procs = [psutil.Process(pid) for pid in hog.pids]
        deadline = time.monotonic() + 20
        while min(p.cpu_times().user for p in procs) < 0.1 and time.monotonic() < deadline:
            time.sleep(0.1)  # on a box already busy, a fair share of a core may be a small one
        assert min(p.cpu_times().user for p in procs) >= 0.1  # each one computes, none sleeps
        assert all(p.nice() == psutil.Process().nice() for p in procs)  # normal priority, not niced
        pids = hog.pids
    assert hog.alive() == 0
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in pids)
    assert len(hog.load_samples) == 2
    with hogging(None):  # the quiet figures: no hog at all
        pass
    assert hog.runs == 1


def test_figures_keep_the_quiet_keys_and_the_ratio() -> None:
    hog = CpuHog(2, Path("."), load_samples=[3.1, 4.2])
    decisions = {"p50": 70.0, "p99": 300.0, "max": 460.0, "n": 400}
    lat = {
        "p50": 80.0,
        "p99": 400.0,
        "max": 450.0,
        "n": 20,
        "fill_ms": {},
        "orders": 20,
        "decisions": decisions,
    }
    out = contention_figures({"events_per_s": 900, "naive_events_per_s": 600}, lat, hog, quiet_ratio=2.5)
    assert out["pipeline"] == {
        "events_per_s": 900,
        "naive_events_per_s": 600,
        "ratio_to_naive": 1.5,
        "quiet_ratio_to_naive": 2.5,
    }
    assert out["latency_ms"]["1000"] == {
        "p50": 80.0,
        "p99": 400.0,
        "max": 450.0,
        "n": 20,
        "decisions": decisions,
    }
    assert out["load_average_1m"] == [3.1, 4.2]
    rows = dict(contention_rows(out))
    assert "1.5x" in rows["naive Faust agent under the same hog"]
    assert "(n=400)" in rows["  tick-to-decision (orders and rejections) under the hog"]
    assert contention_rows(None) == []
