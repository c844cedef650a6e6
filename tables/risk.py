"""Risk state: one record per portfolio, held by the single risk agent that decides for it.

The signals and fills topics that feed it have one partition and are keyed by portfolio, so the
changelog (one partition) lives with them; recovery reads them to their true end
(streams/broker_compat.py).
"""

from __future__ import annotations

from streams.app import app

portfolio_to_risk_state = app.Table("portfolio_to_risk_state", default=None, partitions=1)
