"""Feature tables: per-pair bars in tumbling and hopping event-time windows, plus per-pair state.

Windows are in event time (the swap's block time), so a replay builds the same bars. Each table's
changelog is co-partitioned with raw.swaps (same partition count, keyed by pair). Values are plain
dicts (`Bar.to_dict()`); expired windows are dropped by Faust, so memory stays bounded.
"""

from __future__ import annotations

from datetime import timedelta

from streams.app import app, settings

_N = settings.topic_partitions


def _bars(name: str) -> object:
    return app.Table(name, default=None, partitions=_N)


# One-second bars: the base series for returns and volatility (the last 60 are read per snapshot).
pair_to_bar_1s = _bars("pair_to_bar_1s").tumbling(1.0, expires=timedelta(seconds=90))  # type: ignore[attr-defined]
# Rolling 10 s and 60 s aggregates (volume, VWAP, order-flow imbalance), hopping every 2 s and 10 s.
pair_to_bar_10s = _bars("pair_to_bar_10s").hopping(10.0, 2.0, expires=timedelta(seconds=30))  # type: ignore[attr-defined]
pair_to_bar_60s = _bars("pair_to_bar_60s").hopping(60.0, 10.0, expires=timedelta(seconds=120))  # type: ignore[attr-defined]
# Per pair: last applied raw offset per partition, last snapshot bucket, latest state of each pool.
pair_to_feature_state = app.Table("pair_to_feature_state", default=None, partitions=_N)
# Pump.fun launches seen, by mint: what risk needs to cap exposure per launch and check its age.
mint_to_launch = app.Table("mint_to_launch", default=None, partitions=_N)
