"""The running pipeline settles on its local chain, and `solbot check balances` finds chain == database."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

import asyncpg
import pytest

from core.settings import Settings
from market.tokens import USDC
from services.stack import Stack
from solbot.commands.check import fetch_check
from solbot.commands.check import main as check_main
from tests.integration.harness import running_pipeline, until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _args(port: int) -> argparse.Namespace:
    return argparse.Namespace(action="balances", port=[port], host="127.0.0.1", json=False)


async def _answer(port: int) -> dict[str, object]:
    """The worker's check, once it holds the orders partition (it answers 409 until then)."""
    answer: dict[str, object] = {}

    async def ready() -> bool:
        nonlocal answer
        answer = await asyncio.to_thread(fetch_check, "127.0.0.1", port)
        return bool(answer.get("available"))

    for _ in range(150):
        if await ready():
            return answer
        await asyncio.sleep(0.2)
    raise AssertionError(f"worker never answered the balance check: {answer}")


async def test_fills_settle_on_chain_and_balances_match_across_a_restart(
    fresh_stack: Stack, fresh_settings: Settings
) -> None:
    async with running_pipeline(fresh_settings, fresh_stack, seed=3, rate_eps=400, duration_s=90) as p:
        counts = p.monitor.counts
        assert await until(lambda: counts.fills >= 3, 120), "no fills"
        answer = await _answer(p.worker.web_port)
        assert answer["ok"] is True, answer["differences"]
        assert int(str(answer["transactions"])) >= 3  # fills are real transactions on the chain
        assert await asyncio.to_thread(check_main, fresh_settings, _args(p.worker.web_port)) == 0

        # A database that drifts from the chain is caught (and put back).
        conn = await asyncpg.connect(fresh_stack.database_url)
        try:
            await conn.execute(
                "UPDATE balances SET amount = amount + 1 WHERE portfolio = $1 AND mint = $2",
                fresh_settings.portfolio,
                USDC,
            )
            assert await asyncio.to_thread(check_main, fresh_settings, _args(p.worker.web_port)) == 1
            await conn.execute(
                "UPDATE balances SET amount = amount - 1 WHERE portfolio = $1 AND mint = $2",
                fresh_settings.portfolio,
                USDC,
            )
        finally:
            await conn.close()

        # A killed worker's chain is gone; the new one rebuilds it from the database and keeps settling.
        os.kill(p.worker.proc.pid, signal.SIGKILL)
        p.worker.proc.wait()
        p.restart_worker()
        before = counts.fills
        assert await until(lambda: counts.fills >= before + 2, 120), "no fills after the restart"
        answer = await _answer(p.worker.web_port)
        assert answer["ok"] is True, answer["differences"]
        assert await asyncio.to_thread(check_main, fresh_settings, _args(p.worker.web_port)) == 0
