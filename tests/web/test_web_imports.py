"""The web API sits on the layers below it: importing it builds no Faust app and loads no worker wiring
(`tests/test_architecture.py` checks its imports only go down)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_api_loads_no_faust_app_or_agent_wiring() -> None:
    """Every Faust agent imports `streams.app`; the API process must never build that app or its tables."""
    probe = (
        "import sys, web.api.app\n"
        "bad = [m for m in sys.modules if m in ('streams.app', 'streams.compat', 'web.status', 'web.metrics')"
        " or m.startswith(('faust.app', 'tables.features', 'tables.risk', 'solbot'))]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""
