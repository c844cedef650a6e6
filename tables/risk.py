"""Risk state: one record per portfolio, held by the single risk agent that decides for it.

The signals and fills topics that feed it have one partition and are keyed by portfolio, so the
changelogs (one partition) live with them; recovery reads them to their true end
(streams/broker_compat.py).
"""

from __future__ import annotations

from datetime import timedelta

from streams.app import app

portfolio_to_risk_state = app.Table(
    "portfolio_to_risk_state", default=None, partitions=1
)
# Which signals were decided, and how: a worker restarted mid-stream may re-emit a signal id at a new
# offset, and it must not be decided twice. Windowed by the signal's event time so memory stays bounded;
# a signal older than the window is rejected as stale by the risk rules anyway.
signal_to_decision = app.Table(
    "signal_to_decision", default=None, partitions=1
).tumbling(60.0, expires=timedelta(minutes=10))
