"""The replay behind `solbot portfolio rebuild`, by hand."""

from __future__ import annotations

from solbot.commands.portfolio import ExecutionRow, RebuiltPosition, compare, rebuild

PAIRS = {"TOK/SOL": ("TOK", "SOL")}


def test_replay_books_buys_and_pro_rata_sells() -> None:
    fills = [
        ExecutionRow("TOK/SOL", "buy", "filled", 1_000, 300),
        ExecutionRow("TOK/SOL", "buy", "failed", 0, 0),
        ExecutionRow("TOK/SOL", "buy", "filled", 500, 150),
        ExecutionRow("TOK/SOL", "sell", "filled", 600, 200),  # cost removed 450 x 600 // 1 500 = 180
    ]
    balances, positions, problems = rebuild(fills, {"SOL": 1_000}, PAIRS)
    assert problems == []
    assert balances == {"SOL": 1_000 - 300 - 150 + 200, "TOK": 900}
    assert positions == {"TOK/SOL": RebuiltPosition(base_amount=900, cost_quote=270, realised_pnl_quote=20)}


def test_unknown_pair_and_differences_are_reported() -> None:
    _, _, problems = rebuild([ExecutionRow("X/SOL", "buy", "filled", 1, 1)], {}, PAIRS)
    assert problems == ["pair X/SOL: fills but no positions row naming its mints"]
    lines = compare({"SOL": 5}, {"SOL": 7, "TOK": 0}, {"A": RebuiltPosition(1, 2, 3)}, {})
    assert lines == [
        "balance SOL: fills 5 table 7 (table - fills = +2)",
        "position A base_amount: fills 1 table 0 (table - fills = -1)",
        "position A cost_quote: fills 2 table 0 (table - fills = -2)",
        "position A realised_pnl_quote: fills 3 table 0 (table - fills = -3)",
    ]
