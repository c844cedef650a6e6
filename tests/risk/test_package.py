"""The risk package is pure: nothing of Faust's app, the agents, persistence, the web or the CLI."""

from __future__ import annotations

import subprocess
import sys

from tests.test_architecture import ROOT, graph

FORBIDDEN = ("agents", "store", "web", "solbot", "tables", "services", "collectors", "streams.app")


def test_risk_modules_import_nothing_above_the_pure_cores() -> None:
    bad = {
        module: sorted(t for t in targets if t.startswith(FORBIDDEN))
        for module, targets in graph().items()
        if module.split(".")[0] == "risk"
    }
    assert {m: t for m, t in bad.items() if t} == {}


def test_importing_risk_loads_no_faust_app_and_no_agent() -> None:
    probe = (
        "import sys, risk\n"
        "bad = [m for m in sys.modules if m.startswith(('agents', 'store', 'web', 'solbot', 'streams.app', "
        "'streams.compat', 'tables', 'faust.app', 'faust.transport'))]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""
