"""Risk state: one record per portfolio, held by the single risk agent that decides for it.

The signals and fills topics that feed it have one partition and are keyed by portfolio, so the
changelog (one partition) lives with them; recovery reads them to their true end (`streams.compat`).
"""

from __future__ import annotations

from typing import Any

import faust
from faust.types import TableT


def declare_risk_table(app: faust.App) -> TableT[Any, Any]:
    """`portfolio_to_risk_state` on `app`: the risk state as a dict (`RiskState.to_dict`) per portfolio."""
    return app.Table("portfolio_to_risk_state", default=None, partitions=1)
