"""`solbot portfolio rebuild` against a real PostgreSQL filled by the real execution sink."""

from __future__ import annotations

import argparse

import asyncpg
import pytest
from test_execution_sink import BASE, INITIAL, QUOTE, make_order, make_sink

from core.settings import load_settings
from solbot.commands import portfolio


async def test_fills_rebuild_the_tables_and_a_tampered_row_shows(
    pool: asyncpg.Pool, migrated_url: str
) -> None:
    sink = make_sink(pool)
    await sink.ensure_wallet(INITIAL)
    await sink.apply("orders", 0, [(0, make_order(0)), (1, make_order(1))], now_ms=1)
    (buy,) = await sink.apply("orders", 0, [(2, make_order(2))], now_ms=2)
    half = buy.base_amount // 2
    await sink.apply("orders", 0, [(3, make_order(3, "sell", amount_in=half))], now_ms=3)
    assert await portfolio.check(migrated_url, "p1", INITIAL) == []
    await pool.execute("UPDATE balances SET amount = amount + 5 WHERE portfolio = 'p1' AND mint = $1", QUOTE)
    await pool.execute("UPDATE positions SET cost_quote = cost_quote - 1 WHERE portfolio = 'p1'")
    lines = await portfolio.check(migrated_url, "p1", INITIAL)
    assert len(lines) == 2
    assert lines[0].startswith(f"balance {QUOTE}: fills ") and lines[0].endswith("(table - fills = +5)")
    assert lines[1].startswith("position TOK/SOL cost_quote: fills ") and lines[1].endswith(
        "(table - fills = -1)"
    )
    assert BASE in INITIAL


def test_main_exit_codes(migrated_url: str, tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(database_url=migrated_url, portfolio="p1", data_dir=tmp_path)
    args = argparse.Namespace(command="portfolio", action="rebuild")
    assert portfolio.main(settings, args) == 0  # nothing traded yet
    assert "match" in capsys.readouterr().out
