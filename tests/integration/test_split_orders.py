"""Split buys through the running pipeline: every leg executes once and positions are the sum of the fills."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import load_settings
from services.stack import Stack
from solbot.audit import audit_run, decision_id, read_topic
from solbot.runner import drain
from tests.integration.harness import running_pipeline, until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# A 3 bps impact cap with 20 % positions: the simulator's pools take such buys only when split.
SPLIT_ENV = {"MAX_SLIPPAGE_BPS": "3", "MAX_POSITION_PCT": "20", "MAX_PAIR_EXPOSURE_PCT": "40"}


async def test_split_buys_execute_every_leg_once(
    tmp_path: Path, fast_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("BROKER_URL", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in SPLIT_ENV.items():
        monkeypatch.setenv(name, value)  # the worker process inherits the environment
    settings = load_settings(
        data_dir=tmp_path / "data",
        broker_url=None,
        database_url=None,
        redis_url=None,
        embedded_broker_sasl=False,
    )  # the test's own clients read the topics directly, as on the shared stacks
    with Stack(settings) as stack:
        async with running_pipeline(settings, stack, seed=7, rate_eps=400, duration_s=40) as p:
            counts = p.monitor.counts
            assert await until(lambda: counts.orders >= 2, 90), "no orders"
            await p.feed
            await drain(p.monitor, quiet_s=8, limit_s=60)
        orders = await read_topic(p.bootstrap, "orders")
        audit = await audit_run(p.bootstrap, stack.database_url, settings.portfolio)
    legs = [str(o["id"]) for o in orders if "/leg" in str(o.get("id"))]
    print(f"{len(orders)} orders, {len(legs)} legs of {len({decision_id(leg) for leg in legs})} split buys")
    assert legs, f"no split among {len(orders)} orders"
    assert len({decision_id(leg) for leg in legs}) < len(legs)  # two or more legs per split decision
    assert audit.duplicates == [] and audit.missing == [] and audit.position_mismatches == []
