"""Feature tables: per-pair bars in tumbling and hopping event-time windows, plus per-pair state.

Windows are in event time (the swap's block time), so a replay builds the same bars; their sizes and
expiry are the feature folding's (`tables.windows`). Each table's changelog is co-partitioned with
raw.swaps (same partition count, keyed by pair). Values are plain dicts (`Bar.to_dict()`); windows are
dropped once their partition's event time is past their expiry (`streams.compat.tables`), so memory stays
bounded and a worker behind the market keeps what it still needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import faust
from faust.types import TableT

from core.settings import Settings
from streams.compat.tables import changelog_retention_s, expire_by_event_time
from tables.windows import BARS_1S_WINDOW, BARS_10S_WINDOW, BARS_60S_WINDOW, WindowSpec


@dataclass(frozen=True)
class FeatureTables:
    """The features and launches agents' tables of one app (windowed ones as Faust's window wrappers)."""

    pair_to_bar_1s: Any
    pair_to_bar_10s: Any
    pair_to_bar_60s: Any
    pair_to_feature_state: TableT[Any, Any]
    mint_to_launch: TableT[Any, Any]


WINDOWED = {
    "pair_to_bar_1s": BARS_1S_WINDOW,
    "pair_to_bar_10s": BARS_10S_WINDOW,
    "pair_to_bar_60s": BARS_60S_WINDOW,
}


def windowed_changelog_retention_ms(app_id: str) -> dict[str, int]:
    """Each windowed table's changelog topic and the retention it needs (`expire_by_event_time`)."""
    return {
        f"{app_id}-{name}-changelog": round(changelog_retention_s(window.expires_s) * 1000)
        for name, window in WINDOWED.items()
    }


def declare_feature_tables(app: faust.App, settings: Settings) -> FeatureTables:
    """Declare the feature tables on `app`, co-partitioned with raw.swaps."""
    partitions = settings.topic_partitions

    def bars(name: str, window: WindowSpec) -> Any:
        table = app.Table(name, default=None, partitions=partitions)
        expires = timedelta(seconds=window.expires_s)
        if window.step_s == window.size_s:
            return expire_by_event_time(table.tumbling(window.size_s, expires=expires))
        return expire_by_event_time(table.hopping(window.size_s, window.step_s, expires=expires))

    return FeatureTables(
        # One-second bars: the base series for returns and volatility (the last 60 are read per snapshot).
        pair_to_bar_1s=bars("pair_to_bar_1s", WINDOWED["pair_to_bar_1s"]),
        # Rolling 10 s and 60 s aggregates (volume, VWAP, order-flow imbalance), hopping every 2 s and 10 s.
        pair_to_bar_10s=bars("pair_to_bar_10s", WINDOWED["pair_to_bar_10s"]),
        pair_to_bar_60s=bars("pair_to_bar_60s", WINDOWED["pair_to_bar_60s"]),
        # Per pair: last applied raw offset per partition, last snapshot bucket, latest state of each pool.
        pair_to_feature_state=app.Table("pair_to_feature_state", default=None, partitions=partitions),
        # Pump.fun launches seen, by mint: what risk needs to cap exposure per launch and check its age.
        mint_to_launch=app.Table("mint_to_launch", default=None, partitions=partitions),
    )
