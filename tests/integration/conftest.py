"""Integration fixtures: a fresh embedded stack per test, so topics and tables never leak between tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import Settings, load_settings
from services.stack import Stack

# Thresholds low enough that a short run trades; these tests are about plumbing, not profitability.
FAST_ENV = {
    "SNAPSHOT_INTERVAL_MS": "250",
    "LABEL_HORIZON_MS": "2000",
    "MODEL_WARMUP_LABELS": "10",
    "STRATEGY_COST_BPS": "2",
    "MIN_CONFIDENCE": "0.5",
    "LOG_LEVEL": "info",
}


@pytest.fixture
def fast_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for k, v in FAST_ENV.items():
        monkeypatch.setenv(k, v)
    return dict(FAST_ENV)


@pytest.fixture
def fresh_settings(tmp_path: Path, fast_env: dict[str, str]) -> Settings:
    for name in ("BROKER_URL", "DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    # Plaintext, like the session stack: the harness's own clients read the topics directly; `solbot run`
    # on its SASL default is tested end to end (test_run_end_to_end.py, test_shared_stack.py).
    return load_settings(
        data_dir=tmp_path / "data",
        broker_url=None,
        database_url=None,
        redis_url=None,
        embedded_broker_sasl=False,
    )


@pytest.fixture
def fresh_stack(fresh_settings: Settings) -> Iterator[Stack]:
    with Stack(fresh_settings) as stack:
        yield stack
