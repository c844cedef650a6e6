"""In-memory stand-ins for the Faust tables the feature folding reads and writes.

`features.folding.FeatureFolder` reaches a table only through `tables.batch_view.BatchView`, which reads
`data` (a dict) and calls `write`; `MemoryTable` is exactly that (`tables.batch_view.ChangelogTable`), so
the backtest runs the live fold unchanged, without a broker or a Faust app. With `holds_values` a view
keeps its values as they are, not as the JSON-ready dicts a Faust table holds.

Windowed keys are `(key, (start, end))` as Faust keys them (`tables.windows.WindowSpec`). Like Faust, a
windowed table drops a window once it ended more than its expiry before the newest window end it has
seen, so memory stays bounded on long runs; the fold reads at most 60 s back, less than every expiry.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from tables.windows import BARS_1S_WINDOW, BARS_10S_WINDOW, BARS_60S_WINDOW, WindowSpec

# The live tables' expiry (their windows are `tables.windows`', which tables/features.py declares).
BARS_1S_EXPIRES_S = BARS_1S_WINDOW.expires_s
BARS_10S_EXPIRES_S = BARS_10S_WINDOW.expires_s
BARS_60S_EXPIRES_S = BARS_60S_WINDOW.expires_s


class MemoryTable:
    """A dict with the write a batch view makes; keeps the changelog only if asked."""

    def __init__(
        self,
        window: WindowSpec | None = None,
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

    def write(self, key: Hashable, raw: Any, partition: int) -> None:
        self.data[key] = raw
        self.writes += 1
        if self.keep_changelog:
            self.changelog.append((partition, key))
        if self.window is not None:
            self._expire(key)

    def _expire(self, key: Hashable) -> None:
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
    """The feature folding's four tables, as `FeatureFolder(**feature_tables(), snapshot_interval_ms=…)`.

    `hops=False` is the backtest's set: it leaves out the hopping-window tables (snapshots never read
    them; they are the agent's durable record), and its tables hold the fold's values as they are,
    since only the fold reads them.
    """
    if not hops:
        return {
            "bars_1s": MemoryTable(
                BARS_1S_WINDOW,
                expires_s=BARS_1S_EXPIRES_S,
                keep_changelog=keep_changelog,
                holds_values=True,
            ),
            "bars_10s": None,
            "bars_60s": None,
            "state_table": MemoryTable(keep_changelog=keep_changelog, holds_values=True),
        }
    return {
        "bars_1s": MemoryTable(BARS_1S_WINDOW, expires_s=BARS_1S_EXPIRES_S, keep_changelog=keep_changelog),
        "bars_10s": MemoryTable(BARS_10S_WINDOW, expires_s=BARS_10S_EXPIRES_S, keep_changelog=keep_changelog),
        "bars_60s": MemoryTable(BARS_60S_WINDOW, expires_s=BARS_60S_EXPIRES_S, keep_changelog=keep_changelog),
        "state_table": MemoryTable(keep_changelog=keep_changelog),
    }
