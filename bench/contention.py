"""The bench's CPU hog: busy processes at normal priority, as other programs on a trading bot's box are.

`make bench`'s `contention` section runs the throughput and latency figures again with a `CpuHog` on
every core, next to the naive Faust agent under the same hog: a pipeline whose own waiting turns a busy
CPU into stalls shows up as a ratio to naive far below the quiet one, and as a tail in seconds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.process import spawn, terminate

# A pure-Python busy loop: no syscalls, no I/O, no nice(): the scheduler shares the core fairly with it.
HOG_CODE = "while True:\n    pass\n"


@dataclass
class CpuHog:
    """Busy processes while `running()`; the 1-minute load average is sampled as each measured part starts
    and ends. The stacks start before it does: the hog is for the measured work, not the broker's start."""

    processes: int
    log_dir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    runs: int = 0
    load_samples: list[float] = field(default_factory=list)

    def sample_load(self) -> None:
        self.load_samples.append(round(os.getloadavg()[0], 2))

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def alive(self) -> int:
        return sum(1 for p in self.procs if p.poll() is None)

    @contextlib.contextmanager
    def running(self) -> Iterator[CpuHog]:
        """The hog's processes for the block, stopped by pid on exit (and with this process: parent-death
        signal), so an interrupted bench leaves no hog behind."""
        self.runs += 1
        self.procs = []
        try:
            for i in range(self.processes):
                self.procs.append(
                    spawn(
                        [sys.executable, "-c", HOG_CODE],
                        log_path=self.log_dir / f"hog-{i}.log",
                        detached=False,
                        death_signal=signal.SIGKILL,
                    )
                )
            self.sample_load()
            yield self
        finally:
            self.sample_load()
            for proc in self.procs:
                terminate(proc.pid, timeout_s=5, sig=signal.SIGKILL)


def hogging(hog: CpuHog | None) -> contextlib.AbstractContextManager[object]:
    """The hog around a measured part, or nothing (the quiet figures)."""
    return hog.running() if hog is not None else contextlib.nullcontext()


def contention_figures(
    throughput: dict[str, float], latency_1000: dict[str, Any], hog: CpuHog, quiet_ratio: float | None
) -> dict[str, Any]:
    """The `contention` section of the bench JSON: same keys as the quiet figures, plus the hog's facts."""
    naive = throughput["naive_events_per_s"]
    ratio = round(throughput["events_per_s"] / naive, 2) if naive else None
    return {
        "hog_processes": hog.processes,
        "load_average_1m": hog.load_samples,
        "pipeline": {
            "events_per_s": throughput["events_per_s"],
            "naive_events_per_s": naive,
            "ratio_to_naive": ratio,
            "quiet_ratio_to_naive": quiet_ratio,
        },
        "latency_ms": {"1000": {k: latency_1000[k] for k in ("p50", "p99", "max", "n", "decisions")}},
        "hops_at_1000": latency_1000.get("hops"),
    }


def contention_rows(c: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The bench table's rows for the `contention` section (none when it did not run)."""
    if not c:
        return []
    pl, lat = c["pipeline"], c["latency_ms"]["1000"]
    decided = lat["decisions"]
    hog = f"under a {c['hog_processes']}-process CPU hog (load {c['load_average_1m']})"
    return [
        (f"pipeline, one worker, {hog}", f"{pl['events_per_s']:,} raw events/s"),
        (
            "naive Faust agent under the same hog",
            f"{pl['naive_events_per_s']:,} events/s (pipeline = {pl['ratio_to_naive']}x)",
        ),
        (
            "tick-to-order at 1,000 ev/s under the hog",
            f"p50 {lat['p50']} ms, p99 {lat['p99']} ms, max {lat['max']} ms (n={lat['n']})",
        ),
        (
            "  tick-to-decision (orders and rejections) under the hog",
            f"p50 {decided['p50']} ms, p99 {decided['p99']} ms, max {decided['max']} ms (n={decided['n']})",
        ),
    ]
