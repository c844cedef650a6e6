"""The backtest's HTML page: one self-contained file (inline SVG and CSS; no scripts, fonts or images).

It renders the JSON report (`backtest.report.summarise`) plus the equity curves of the result, in the
units a trader reads: UTC times, USDC with two decimals, percentages, tables rather than raw objects.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from backtest.result import BacktestResult
from backtest.stats import Point, drawdowns, duration_text, utc_text

CSS = (
    "body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1.5em;font-size:13px}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f5f5f5}"
    "td.l,th.l{text-align:left}.neg{color:#b71c1c}.pos{color:#1b5e20}.note{color:#555;font-size:13px}"
    ".trades{max-height:480px;overflow:auto;display:block}"
)
DASH = "\u2013"  # an en dash: a cell with nothing to show (not applicable), never "None"


def render_html(result: BacktestResult, summary: dict[str, Any], *, source: str) -> str:
    """One page: headline and PnL split, equity against buy-and-hold, drawdown, then the tables."""
    dd = drawdowns([e for _, e in result.equity])
    dd_points = [(t, -d * 100 + 0.0) for (t, _), d in zip(result.equity, dd, strict=True)]
    period = summary.get("period", {})
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>solbot backtest: {html.escape(source)}</title><style>{CSS}</style></head><body>"
        f"<h1>Backtest of {html.escape(source)} (seed {summary['seed']})</h1>"
        f"<p class='note'>{html.escape(_period_text(period))}. All times UTC (event time of the recording)."
        "</p>"
        + _headline(summary)
        + _chart(
            [("equity", result.equity, "#1565c0"), ("hold the opening wallet", result.benchmark, "#9e9e9e")],
            title="Equity against buy-and-hold (USDC)",
            unit="",
        )
        + _chart([("drawdown", dd_points, "#c62828")], title="Drawdown (%)", unit="%", fill=True)
        + _group_table("By strategy", summary["by_strategy"], "strategy")
        + _group_table("By pair", summary["by_pair"], "pair")
        + _trades_table(summary.get("trade_log", []))
        + _allocations_table(summary.get("allocations", []))
        + _models_table(summary["models"])
        + _simple_table(
            "Rejections by reason",
            ["reason", "count"],
            [[code, n] for code, n in summary["rejections_by_code"].items()],
        )
        + _run_table(summary)
        + "</body></html>"
    )


def _period_text(period: dict[str, Any]) -> str:
    if not period.get("start"):
        return "No equity points"
    start, end = period["start"].replace("T", " ")[:19], period["end"].replace("T", " ")[:19]
    return f"From {start} to {end} ({duration_text(period['span_s'] * 1000)})"


def _usdc(v: float) -> str:
    cls = "neg" if v < 0 else "pos" if v > 0 else ""
    return f"<span class='{cls}'>{v:,.2f}</span>"


def _when(iso: str | None) -> str:
    return iso.replace("T", " ").replace("Z", " UTC") if iso else DASH


def _headline(s: dict[str, Any]) -> str:
    """The PnL split, the risk figures with their basis, and the drawdown with its dates."""
    b, dd, basis = s["benchmark"], s["max_drawdown"], s["ratio_basis"]
    recovered = _when(dd["recovered"]) if dd["recovered"] else "not recovered by the end"
    rows = [
        ("Start equity (USDC)", f"{s['start_equity_usdc']:,.2f}"),
        ("End equity (USDC)", f"{s['end_equity_usdc']:,.2f}"),
        ("PnL (USDC)", f"{_usdc(s['pnl_usdc'])} ({s['return_pct']:+.4f} %)"),
        ("of which: opening wallet re-priced (buy-and-hold)", _usdc(s["inventory_revaluation_usdc"])),
        ("of which: trading (PnL against buy-and-hold)", _usdc(s["trading_pnl_usdc"])),
        ("Buy-and-hold end value (USDC)", f"{b['end_usdc']:,.2f} ({b['return_pct']:+.4f} %)"),
        ("Sharpe / Sortino (wallet)", f"{s['sharpe']:,.2f} / {s['sortino']:,.2f}"),
        ("Sharpe / Sortino (trading only)", f"{s['trading_sharpe']:,.2f} / {s['trading_sortino']:,.2f}"),
        ("Sharpe / Sortino (buy-and-hold)", f"{b['sharpe']:,.2f} / {b['sortino']:,.2f}"),
        ("Max drawdown", f"{dd['pct']:.4f} % ({dd['usdc']:,.2f} USDC)"),
        ("Drawdown peak / trough", f"{_when(dd['peak'])} / {_when(dd['trough'])}"),
        ("Drawdown recovered", recovered),
        ("Trades (filled) / orders", f"{s['trades']} / {s['orders']} ({s['failed_fills']} failed)"),
        ("Win rate (filled sells in profit)", f"{s['win_rate'] * 100:.1f} %"),
        ("Fees (USDC)", f"{s['fees_usdc']:,.2f}"),
        ("Turnover (filled notional / start equity)", f"{s['turnover']:.4f}"),
    ]
    body = "".join(f"<tr><th class='l'>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    note = html.escape("Sharpe and Sortino: " + basis["text"] + ".")
    return (
        f"<h2>Summary</h2><table>{body}</table><p class='note'>{note} Over a span this short the "
        "annualised ratios are large and noisy: compare runs with them, do not read them as a forecast.</p>"
    )


def _chart(
    series: Sequence[tuple[str, Sequence[Point], str]], *, title: str, unit: str, fill: bool = False
) -> str:
    """A self-contained SVG line chart of one or more series on shared axes, times in UTC."""
    width, height, pad = 1000, 260, 60
    points = [p for _, pts, _ in series for p in pts]
    if len({t for t, _ in points}) < 2:
        return f"<p>{html.escape(title)}: not enough points</p>"
    x0, x1 = min(t for t, _ in points), max(t for t, _ in points)
    y0, y1 = min(v for _, v in points), max(v for _, v in points)
    if y1 == y0:
        y0, y1 = y0 - 1.0, y1 + 1.0

    def sx(x: float) -> float:
        return pad + (x - x0) / (x1 - x0) * (width - 2 * pad)

    def sy(y: float) -> float:
        return height - pad + (y0 - y) / (y1 - y0) * (height - 2 * pad)

    text = "<text font-size='11' font-family='sans-serif'"
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
        f"aria-label='{html.escape(title)}'><rect width='100%' height='100%' fill='#fff'/>",
        f"<text x='{pad}' y='18' font-size='14' font-family='sans-serif'>{html.escape(title)}</text>",
        f"{text} x='4' y='{sy(y1) + 4:.1f}'>{y1:,.2f}{unit}</text>",
        f"{text} x='4' y='{sy(y0) + 4:.1f}'>{y0:,.2f}{unit}</text>",
        f"{text} x='{pad}' y='{height - 30}'>{utc_text(x0)}</text>",
        f"{text} x='{width - pad}' y='{height - 30}' text-anchor='end'>{utc_text(x1)}</text>",
        f"<line x1='{pad}' y1='{height - pad}' x2='{width - pad}' y2='{height - pad}' stroke='#999'/>",
    ]
    for i, (label, pts, colour) in enumerate(series):
        if not pts:
            continue
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        if fill:
            base = sy(min(max(0.0, y0), y1))  # the area between the line and zero (or the nearest edge)
            parts.append(
                f"<polygon points='{sx(pts[0][0]):.1f},{base:.1f} {path} {sx(pts[-1][0]):.1f},{base:.1f}' "
                f"fill='{colour}' fill-opacity='0.2' stroke='none'/>"
            )
        parts.append(f"<polyline points='{path}' fill='none' stroke='{colour}' stroke-width='1.5'/>")
        lx = width - pad - 420 + i * 200
        parts.append(f"<line x1='{lx}' y1='14' x2='{lx + 24}' y2='14' stroke='{colour}' stroke-width='3'/>")
        parts.append(f"{text} x='{lx + 30}' y='18'>{html.escape(label)}</text>")
    return "".join(parts) + "</svg>"


def _num(v: float, decimals: int = 2) -> str:
    """A figure with thousands separators and a fixed number of decimals (money: 2)."""
    return f"{v:,.{decimals}f}"


def _size(v: float) -> str:
    """A token amount: whole units when large, six significant digits when small (1.5e-07 stays exact)."""
    return f"{v:,.0f}" if abs(v) >= 100_000 else f"{v:,.6g}"


def _cell(v: Any, *, left: bool = False) -> str:
    cls = " class='l'" if left else ""
    if v is None or v == "":
        return f"<td{cls}>{DASH}</td>"
    if isinstance(v, bool) or not isinstance(v, int | float):
        return f"<td{cls}>{html.escape(str(v))}</td>"
    if isinstance(v, float):
        return f"<td{cls}>{v:,.4f}</td>"
    return f"<td{cls}>{v:,}</td>"


def _simple_table(title: str, headers: list[str], rows: list[list[Any]], *, note: str = "") -> str:
    if not rows:
        return f"<h2>{html.escape(title)}</h2><p>none</p>"
    head = "".join(
        f"<th class='{'l' if i == 0 else ''}'>{html.escape(h)}</th>" for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>" + "".join(_cell(v, left=i == 0) for i, v in enumerate(row)) + "</tr>" for row in rows
    )
    extra = f"<p class='note'>{html.escape(note)}</p>" if note else ""
    return f"<h2>{html.escape(title)}</h2>{extra}<table><tr>{head}</tr>{body}</table>"


def _group_table(title: str, rows: dict[str, dict[str, Any]], what: str) -> str:
    headers = [what, "orders", "trades", "sells", "win rate %", "notional USDC", "fees USDC", "PnL USDC"]
    headers.append("max drawdown USDC")
    body = [
        [
            name,
            r["orders"],
            r["trades"],
            r["sells"],
            _num(r["win_rate"] * 100, 1) if r["sells"] else None,
            _num(r["notional_usdc"]),
            _num(r["fees_usdc"]),
            _num(r["pnl_usdc"]),
            _num(r["max_drawdown_usdc"]),
        ]
        for name, r in rows.items()
    ]
    note = (
        "PnL: realised by the sells plus what is still held, marked at the last price."
        if what == "pair"
        else "PnL: realised by the strategy's sells (risk's own exits, e.g. stop losses, under risk)."
    )
    note += " Max drawdown: the deepest fall of the running realised PnL, fill by fill."
    return _simple_table(title, headers, body, note=note)


def _trades_table(trades: list[dict[str, Any]]) -> str:
    headers = ["time (UTC)", "pair", "side", "kind", "strategy", "status", "size (base)", "price (quote)"]
    headers += ["notional USDC", "fee USDC", "PnL USDC"]
    rows = [
        [
            _when(t["time"]),
            t["pair"],
            t["side"],
            t["kind"],
            t["strategy"],
            t["status"] if t["status"] == "filled" else f"{t['status']}: {t['reason']}",
            _size(t["size_base"]) if t["status"] == "filled" else None,
            f"{t['price_quote']:.6g} {t['quote']}" if t["status"] == "filled" else None,
            _num(t["notional_usdc"]),
            _num(t["fee_usdc"], 4),
            _num(t["pnl_usdc"], 4) if t["side"] == "sell" and t["status"] == "filled" else None,
        ]
        for t in trades
    ]
    table = _simple_table(
        f"Trades ({len(trades)})",
        headers,
        rows,
        note="PnL: what the fill booked (a sell against the position's average cost, fees included).",
    )
    return table.replace("<table>", "<table class='trades'>", 1)


def _allocations_table(allocations: list[dict[str, Any]]) -> str:
    names = sorted({k for a in allocations for k in a["weights"]})
    rows = [
        [_when(a["time"]), a.get("pair", ""), *(_num(a["weights"].get(n, 0.0) * 100) for n in names)]
        for a in allocations
    ]
    return _simple_table(
        "Allocations (% of a pair's capital per strategy)",
        ["from (UTC)", "pair", *names],
        rows,
        note="Each pair's bandit's weights from each cycle on; a run shorter than one cycle has none.",
    )


def _models_table(models: dict[str, Any]) -> str:
    columns = ["n", "log_loss", "baseline_log_loss", "accuracy", "baseline_accuracy", "mae", "baseline_mae"]
    named = {"all pairs": models["aggregate"], **models["by_pair"]}
    rows = [[name, *(int(m[c]) if c == "n" else m.get(c) for c in columns)] for name, m in named.items()]
    return _simple_table(
        "Models (progressive validation: predict, then learn)",
        ["pair", "labels", *columns[1:]],
        rows,
    )


def _run_table(s: dict[str, Any]) -> str:
    rows = [
        ["events", s["events"]],
        ["events per second", _num(s["events_per_s"], 1)],
        ["elapsed (s)", _num(s["elapsed_s"], 3)],
        ["dead letters", s["dead_letters"]],
        ["launches", s["launches"]],
        ["snapshots", s["snapshots"]],
        ["signals", s["signals"]],
        ["orders", s["orders"]],
        ["rejected", s["rejected"]],
        ["equity points", s["equity_points"]],
    ]
    return _simple_table("Run", ["", "value"], rows)
