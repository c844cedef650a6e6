"""A backtest's numbers (one JSON object) and an HTML page with the equity and drawdown charts.

Returns: equity is sampled once per snapshot interval of event time (`SNAPSHOT_INTERVAL_MS`, 500 ms by
default: the value after the last snapshot of each interval), and Sharpe and Sortino are computed on
those simple returns, risk-free rate 0, annualised by sqrt(periods per year) with a 365-day year (the
market never closes): Sharpe = mean / stdev * sqrt(P), Sortino = mean / downside deviation * sqrt(P),
downside deviation = sqrt(mean(min(r, 0)^2)). Over a few minutes these annualised figures are huge and
noisy; compare runs with them, do not read them as a forecast.

Trades: `trades` counts filled orders; `win_rate` is the share of filled sells that booked a positive
realised PnL; `turnover` is filled notional (USDC) / starting equity; `fees_usdc` is every fill's fee.
Attribution: per pair, realised (sells' booked PnL) + unrealised (what is still held at the last price
minus its cost) = `pnl_usdc`, and `holdings_revaluation_usdc` is the rest of the total PnL (the
opening SOL, and any base held outside a position, re-marked to the last prices); per strategy, the
orders from that strategy's signals (risk's own exits, e.g. stop losses, under "risk"), with their fees
and the PnL their sells booked.
Costs (`costs`): what the fill model charged (`fill_model` says which model: `solbot backtest --fills`):
the pools' fees (in the fills' amounts), the network fees (signature + priority fee + Jito tip, paid in
SOL, also on orders that failed on chain), what sandwiches took, and the failed orders by reason.
`holdings_revaluation_usdc` excludes the network fees (they are trading costs, paid from the SOL held):
pnl_usdc = sum of the pairs' pnl_usdc + holdings_revaluation_usdc - costs.network_fees_usdc.
Benchmark: `hold_pnl_usdc` is the opening wallet, untouched, marked at the run's last prices;
`trading_pnl_usdc` = pnl_usdc - hold_pnl_usdc is what trading added to holding the wallet (costs in).
Model metrics are the models' own progressive validation (predict, then learn) over the whole run; the
aggregate weights each pair by its number of scored labels (`model`, also `models.aggregate`).
Allocations: the bandit's capital weight per strategy from each cycle boundary (`ALLOCATION_CYCLE_MS` of
event time) on; a run shorter than one cycle has none.
"""

from __future__ import annotations

import html
import itertools
import math
from typing import Any

from backtest.result import BacktestResult, wallet_decimals
from market.fills import FILLED

YEAR_MS = 365 * 24 * 3600 * 1000


def returns_of(equity: list[float]) -> list[float]:
    return [b / a - 1.0 for a, b in itertools.pairwise(equity) if a > 0]


def sharpe(returns: list[float], periods_per_year: float) -> float:
    n = len(returns)
    if n < 2:
        return 0.0
    mean = sum(returns) / n
    var = sum((r - mean) ** 2 for r in returns) / (n - 1)
    return 0.0 if var <= 0 else mean / math.sqrt(var) * math.sqrt(periods_per_year)


def sortino(returns: list[float], periods_per_year: float) -> float:
    n = len(returns)
    if n < 2:
        return 0.0
    mean = sum(returns) / n
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / n)
    return 0.0 if downside <= 0 else mean / downside * math.sqrt(periods_per_year)


def drawdowns(equity: list[float]) -> list[float]:
    """Fraction below the running peak at each point (0 at a new high)."""
    out, peak = [], -math.inf
    for e in equity:
        peak = max(peak, e)
        out.append((peak - e) / peak if peak > 0 else 0.0)
    return out


def _aggregate_models(models: dict[str, dict[str, float]]) -> dict[str, float]:
    total = sum(m["n"] for m in models.values())
    agg: dict[str, float] = {"n": total}
    for name in ("log_loss", "baseline_log_loss", "accuracy", "baseline_accuracy", "mae", "baseline_mae"):
        agg[name] = sum(m[name] * m["n"] for m in models.values()) / total if total else 0.0
    return agg


def summarise(result: BacktestResult, *, interval_ms: int) -> dict[str, Any]:
    """The report as one JSON-able dict."""
    values = [e for _, e in result.equity]
    rets = returns_of(values)
    periods = YEAR_MS / interval_ms
    end_equity = values[-1] if values else result.start_equity_usdc
    filled = [t for t in result.trades if t.fill.status == FILLED]
    sells = [t for t in filled if t.order.side == "sell"]
    pairs = _by_pair(result)
    strategies: dict[str, dict[str, float]] = {}
    for t in result.trades:
        _add_trade(strategies.setdefault(t.strategy, _zero_row()), t)
    costs = _costs(result)
    network = costs["network_fees_usdc"]
    hold_pnl = _hold_pnl(result)
    pnl = end_equity - result.start_equity_usdc
    return {
        "seed": result.seed,
        "events": result.events,
        "events_per_s": round(result.events / result.elapsed_s, 1) if result.elapsed_s > 0 else 0.0,
        "elapsed_s": round(result.elapsed_s, 3),
        "dead_letters": result.dead_letters,
        "launches": result.launches,
        "snapshots": result.snapshots,
        "signals": result.signals,
        "orders": len(result.trades),
        "rejected": result.rejections,
        "rejections_by_code": result.rejection_codes,
        "start_equity_usdc": round(result.start_equity_usdc, 2),
        "end_equity_usdc": round(end_equity, 2),
        "pnl_usdc": round(end_equity - result.start_equity_usdc, 2),
        "return_pct": round((end_equity / result.start_equity_usdc - 1.0) * 100, 4)
        if result.start_equity_usdc
        else 0.0,
        "sharpe": round(sharpe(rets, periods), 3),
        "sortino": round(sortino(rets, periods), 3),
        "max_drawdown_pct": round(max(drawdowns(values), default=0.0) * 100, 4),
        "win_rate": round(sum(1 for t in sells if t.realised_usdc > 0) / len(sells), 4) if sells else 0.0,
        "trades": len(filled),
        "failed_fills": len(result.trades) - len(filled),
        "turnover": round(sum(t.notional_usdc for t in filled) / result.start_equity_usdc, 4)
        if result.start_equity_usdc
        else 0.0,
        "fees_usdc": round(sum(t.fee_usdc for t in filled), 4),
        "by_pair": {p: _rounded(r) for p, r in sorted(pairs.items())},
        # what the pairs' PnL does not explain: the rest of the wallet (the opening SOL) re-marked
        "holdings_revaluation_usdc": round(
            end_equity - result.start_equity_usdc - sum(r["pnl_usdc"] for r in pairs.values()) + network, 2
        ),
        "hold_pnl_usdc": round(hold_pnl, 2),
        "trading_pnl_usdc": round(pnl - hold_pnl, 2),
        "costs": costs,
        "fill_model": result.fill_model,
        "by_strategy": {s: _rounded(r) for s, r in sorted(strategies.items())},
        "models": {
            "aggregate": _rounded(_aggregate_models(result.models)),
            "by_pair": {
                p: _rounded({k: m[k] for k in ("n", "log_loss", "baseline_log_loss", "accuracy")})
                for p, m in result.models.items()
            },
        },
        # the same aggregate under the name the acceptance reads, with the bandit's weights per cycle
        "model": _rounded(_aggregate_models(result.models)),
        "allocations": [
            {"ts_ms": a.ts_ms, "weights": {k: round(v, 6) for k, v in a.weights.items()}}
            for a in result.allocations
        ],
        "equity_points": len(values),
    }


def _by_pair(result: BacktestResult) -> dict[str, dict[str, float]]:
    """Per pair: orders, fees, realised PnL, and the unrealised PnL of what is still held."""
    ledger = result.ledger
    pairs: dict[str, dict[str, float]] = {}
    for t in result.trades:
        row = pairs.setdefault(t.order.pair, _zero_row())
        _add_trade(row, t)
    for pair, pos in ledger.positions.items():
        row = pairs.setdefault(pair, _zero_row())
        price = ledger.prices.get(pair, 0.0)
        quote_usdc = ledger.usdc_per_human(pos.quote_mint)
        held = pos.base_amount / 10**pos.base_decimals * price * quote_usdc
        cost = pos.cost_quote / 10**pos.quote_decimals * quote_usdc
        row["unrealised_usdc"] = held - cost
    for row in pairs.values():
        row["pnl_usdc"] = row["realised_usdc"] + row.get("unrealised_usdc", 0.0)
    return pairs


def _costs(result: BacktestResult) -> dict[str, Any]:
    """What the fill model charged: pool fees, network fees, sandwiches, and the failed orders by reason."""
    filled = [t for t in result.trades if t.fill.status == FILLED]
    failed: dict[str, int] = {}
    for t in result.trades:
        if t.fill.status != FILLED:
            code = t.fill.reason.partition(":")[0]
            failed[code] = failed.get(code, 0) + 1
    return {
        "pool_fees_usdc": round(sum(t.fee_usdc for t in filled), 4),
        "network_fees_usdc": round(sum(t.network_fee_usdc for t in result.trades), 4),
        "sandwich_usdc": round(sum(t.sandwich_usdc for t in filled), 4),
        "failed_by_reason": dict(sorted(failed.items())),
    }


def _hold_pnl(result: BacktestResult) -> float:
    """The benchmark: the opening wallet, untouched, marked at the run's last prices, less its start."""
    if not result.opening_wallet:
        return 0.0
    ledger = result.ledger
    hold = sum(
        amount * ledger.usdc_per_raw(mint, wallet_decimals(ledger, mint))
        for mint, amount in result.opening_wallet.items()
    )
    return hold - result.start_equity_usdc


def _zero_row() -> dict[str, float]:
    return {"orders": 0, "trades": 0, "notional_usdc": 0.0, "fees_usdc": 0.0, "realised_usdc": 0.0}


def _add_trade(row: dict[str, float], t: Any) -> None:
    row["orders"] += 1
    if t.fill.status == FILLED:
        row["trades"] += 1
        row["notional_usdc"] += t.notional_usdc
        row["fees_usdc"] += t.fee_usdc
        row["realised_usdc"] += t.realised_usdc


def _rounded(row: dict[str, float]) -> dict[str, float]:
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}


# --- HTML ------------------------------------------------------------------------------------------------


def _svg_line(points: list[tuple[int, float]], *, title: str, unit: str, colour: str, fill: bool) -> str:
    """A self-contained SVG line chart (no scripts, no external assets)."""
    width, height, pad = 900, 240, 48
    if len(points) < 2:
        return f"<p>{html.escape(title)}: not enough points</p>"
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if y1 == y0:
        y0, y1 = y0 - 1.0, y1 + 1.0

    def sx(x: float) -> float:
        return pad + (x - x0) / (x1 - x0 or 1) * (width - 2 * pad)

    def sy(y: float) -> float:
        return height - pad + (y0 - y) / (y1 - y0) * (height - 2 * pad)

    path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
    area = ""
    if fill:
        base = sy(min(max(0.0, y0), y1))  # the area between the line and zero (or the nearest edge)
        area = (
            f'<polygon points="{sx(x0):.1f},{base:.1f} {path} {sx(x1):.1f},{base:.1f}" '
            f'fill="{colour}" fill-opacity="0.2" stroke="none"/>'
        )
    span_s = (x1 - x0) / 1000
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}">'
        f'<rect width="100%" height="100%" fill="#fff"/>'
        f'<text x="{pad}" y="18" font-size="14" font-family="sans-serif">{html.escape(title)}</text>'
        f'<text x="4" y="{sy(y1) + 4:.1f}" font-size="11" font-family="sans-serif">{y1:,.2f}{unit}</text>'
        f'<text x="4" y="{sy(y0) + 4:.1f}" font-size="11" font-family="sans-serif">{y0:,.2f}{unit}</text>'
        f'<text x="{width - pad - 60}" y="{height - 12}" font-size="11" font-family="sans-serif">'
        f"{span_s:,.0f} s of event time</text>"
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>'
        f"{area}"
        f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>'
        f"</svg>"
    )


def _table(title: str, rows: dict[str, dict[str, Any]]) -> str:
    if not rows:
        return f"<h2>{html.escape(title)}</h2><p>none</p>"
    columns = list(next(iter(rows.values())))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["", *columns])
    body = "".join(
        "<tr><th>"
        + html.escape(name)
        + "</th>"
        + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns)
        + "</tr>"
        for name, row in rows.items()
    )
    return f"<h2>{html.escape(title)}</h2><table><tr>{head}</tr>{body}</table>"


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4f}"
    return html.escape(str(v))


def render_html(result: BacktestResult, summary: dict[str, Any], *, source: str) -> str:
    """One page: headline numbers, equity and drawdown charts (inline SVG), attribution tables."""
    dd = drawdowns([e for _, e in result.equity])
    dd_points = [(t, -d * 100) for (t, _), d in zip(result.equity, dd, strict=True)]
    headline = {k: v for k, v in summary.items() if not isinstance(v, dict) and k not in ("seed",)}
    head_rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{_cell(v)}</td></tr>" for k, v in headline.items())
    models = {"aggregate": summary["models"]["aggregate"], **summary["models"]["by_pair"]}
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>solbot backtest: {html.escape(source)}</title>"
        "<style>body{font-family:sans-serif;margin:2em;max-width:960px}"
        "table{border-collapse:collapse;margin-bottom:1.5em}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}</style></head><body>"
        f"<h1>Backtest of {html.escape(source)} (seed {summary['seed']})</h1>"
        + _svg_line(result.equity, title="Equity (USDC)", unit="", colour="#1565c0", fill=False)
        + _svg_line(dd_points, title="Drawdown (%)", unit="%", colour="#c62828", fill=True)
        + f"<h2>Summary</h2><table>{head_rows}</table>"
        + _table("By pair", summary["by_pair"])
        + _table("By strategy", summary["by_strategy"])
        + _table("Models (progressive validation)", models)
        + _table(
            "Allocations (bandit weights from each cycle boundary, event time)",
            {str(a["ts_ms"]): a["weights"] for a in summary.get("allocations", [])},
        )
        + _table("Rejections", {k: {"count": v} for k, v in summary["rejections_by_code"].items()})
        + "</body></html>"
    )
