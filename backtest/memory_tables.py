"""In-memory stand-ins for the Faust tables the agents' pure folds read and write.

`FeatureFolder` reaches a table only through `tables.batch_view.BatchView` (and `WindowedBars`), which
touch four things: `data` (a dict), `window` (a Faust window, for windowed tables), `send_changelog`
and, for windowed tables, `_should_expire_keys` / `_maybe_set_key_ttl`. `MemoryTable` implements exactly
that slice, so the backtest runs the live fold unchanged, without a broker or a Faust app. A view also
asks a table for `holds_values` (Faust tables have none): such a table keeps the view's values as they are.

Windowed keys are `(key, (start, end))` as Faust keys them. Like Faust, a windowed table drops a window
once it ended more than `expires_s` before the newest window end it has seen, so memory stays bounded
on long runs; the features agent reads at most 60 s back, less than every table's `expires`.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from faust.windows import HoppingWindow, TumblingWindow

# The live tables' windows and expiry (tables/features.py), duplicated here without the Faust app.
BARS_1S_EXPIRES_S = 90.0
BARS_10S_EXPIRES_S = 30.0
BARS_60S_EXPIRES_S = 120.0


class MemoryTable:
    """A dict with the Faust table surface the batch views use; keeps the changelog only if asked."""

    def __init__(
        self,
        window: Any = None,
        *,
        expires_s: float | None = None,
        keep_changelog: bool = False,
        holds_values: bool = False,
    ):
        self.data: dict[Hashable, Any] = {}
        # With holds_values, batch views store their values as they are, not as the JSON-ready dicts a
        # Faust table holds: no dump and load per key per batch, for tables nothing else reads.
        self.holds_values = holds_values
        self.window = window
        self.expires_s = expires_s
        self.keep_changelog = keep_changelog
        self.changelog: list[tuple[int, Hashable]] = []  # (partition, key) per write, if kept
        self.writes = 0
        self._window_ends: dict[Hashable, float] = {}
        self._newest_end = float("-inf")
        self._purged_at = float("-inf")

    def _should_expire_keys(self) -> bool:
        return self.window is not None

    def send_changelog(self, partition: int, key: Hashable, value: Any) -> None:
        self.writes += 1
        if self.keep_changelog:
            self.changelog.append((partition, key))

    def _maybe_set_key_ttl(self, key: Hashable, partition: int) -> None:
        """Remember the window's end; purge expired windows at most once per second of event time."""
        if self.expires_s is None or not isinstance(key, tuple):
            return
        end = float(key[1][1])
        self._window_ends[key] = end
        if end > self._newest_end:
            self._newest_end = end
        if self._newest_end - self._purged_at >= 1.0:
            self._purged_at = self._newest_end
            cutoff = self._newest_end - self.expires_s
            for old in [k for k, e in self._window_ends.items() if e < cutoff]:
                del self._window_ends[old]
                self.data.pop(old, None)


def feature_tables(*, keep_changelog: bool = False, hops: bool = True) -> dict[str, MemoryTable | None]:
    """The features agent's four tables, as `FeatureFolder(**feature_tables(), snapshot_interval_ms=…)`.

    `hops=False` is the backtest's set: it leaves out the hopping-window tables (snapshots never read
    them; they are the agent's durable record), and its tables hold the fold's values as they are,
    since only the fold reads them.
    """
    if not hops:
        return {
            "bars_1s": MemoryTable(
                TumblingWindow(1.0),
                expires_s=BARS_1S_EXPIRES_S,
                keep_changelog=keep_changelog,
                holds_values=True,
            ),
            "bars_10s": None,
            "bars_60s": None,
            "state_table": MemoryTable(keep_changelog=keep_changelog, holds_values=True),
        }
    return {
        "bars_1s": MemoryTable(
            TumblingWindow(1.0), expires_s=BARS_1S_EXPIRES_S, keep_changelog=keep_changelog
        ),
        "bars_10s": MemoryTable(
            HoppingWindow(10.0, 2.0), expires_s=BARS_10S_EXPIRES_S, keep_changelog=keep_changelog
        ),
        "bars_60s": MemoryTable(
            HoppingWindow(60.0, 10.0), expires_s=BARS_60S_EXPIRES_S, keep_changelog=keep_changelog
        ),
        "state_table": MemoryTable(keep_changelog=keep_changelog),
    }
