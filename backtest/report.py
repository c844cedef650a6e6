"""A backtest's numbers as one JSON object (the HTML page renders the same object: `backtest.report_html`).

What each figure means (README "Backtest" lists the keys; this is the reference):

- PnL apart from the inventory's revaluation. `pnl_usdc` = end equity - start equity (the whole wallet,
  marked to the last prices). `benchmark` is the opening wallet held unchanged (buy and hold), marked at
  the same times and prices; `inventory_revaluation_usdc` is its PnL (what the market did to the opening
  SOL) and `trading_pnl_usdc` = `pnl_usdc` - `inventory_revaluation_usdc`: what trading added or lost
  against holding. SOL is valued at `FALLBACK_SOL_USDC` until SOL/USDC first trades, in both.
- Returns. Equity is sampled once per snapshot interval of event time (the value after the last
  snapshot of each interval), resampled onto a regular grid every `ratio_basis.sample_ms` (default the
  snapshot interval; `--sample-ms`) so every return spans the same period, and Sharpe and Sortino are
  computed on those simple returns, risk-free rate 0, annualised by sqrt(periods per 365-day year):
  Sharpe = mean / stdev * sqrt(P), Sortino = mean / downside deviation * sqrt(P), downside deviation =
  sqrt(mean(min(r, 0)^2)). `ratio_basis` states the sampling, the number of returns and the span; over
  minutes annualised figures are huge and noisy: compare runs with them, do not forecast with them.
  `trading_sharpe` / `trading_sortino` are the same ratios on start equity + `trading_pnl` over time
  (the wallet with the benchmark's moves taken out).
- Drawdown. `max_drawdown_pct` is the deepest fall of equity from its running peak; `max_drawdown` adds
  it in USDC and the peak, trough and recovery times (recovery null: not regained by the end).
- Trades. `trades` counts filled orders, `trade_log` lists every order with its outcome (UTC time,
  pair, side, kind, strategy, size in base units, average price in quote units, notional, fee and the
  PnL the fill booked, in USDC at the fill's time; a buy books none). `win_rate` is the share of filled
  sells that booked a positive realised PnL (fees included); `turnover` is filled notional / start
  equity; `fees_usdc` every fill's fee.
- Costs (`costs`): what the fill model charged (`fill_model` says which: `solbot backtest --fills`): the
  pools' fees (in the fills' amounts), the network fees (signature + priority fee + Jito tip, paid in SOL,
  also on orders that failed on chain), what sandwiches took, and the failed orders by reason. They are
  inside `pnl_usdc` and so inside `trading_pnl_usdc` (the benchmark pays none).
- Attribution. Per pair: realised (sells' booked PnL) + unrealised (what is still held at the last
  price minus its cost) = `pnl_usdc`; `holdings_revaluation_usdc` is what the pairs' PnL leaves of the
  total (the opening SOL, and any base held outside a position, re-marked) once the network fees, paid
  from the SOL held, are counted as the trading costs they are: pnl_usdc = sum of the pairs' pnl_usdc +
  holdings_revaluation_usdc - costs.network_fees_usdc. Per strategy: the orders
  from its signals (risk's own exits, e.g. stop losses, under "risk"), their fees, and the PnL their
  sells booked (`pnl_usdc` = realised: a strategy's open inventory is not told apart from another's).
  Per pair and strategy, `max_drawdown_usdc` is the deepest fall of the running realised PnL, fill by
  fill.
- Models: the models' own progressive validation (predict, then learn) over the whole run; the
  aggregate weights each pair by its number of scored labels (`model`, also `models.aggregate`).
- Allocations: the bandit's capital weight per strategy from each cycle boundary (`ALLOCATION_CYCLE_MS`
  of event time) on; a run shorter than one cycle has none.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from backtest.result import BacktestResult, TradeRecord
from backtest.stats import iso_utc, max_drawdown, max_drawdown_of_steps, ratios
from market.fills import FILLED

ROUND = 6  # decimals of USDC figures in tables
MODEL_METRICS = ("n", "log_loss", "baseline_log_loss", "accuracy", "baseline_accuracy", "mae", "baseline_mae")


def summarise(result: BacktestResult, *, interval_ms: int, sample_ms: int | None = None) -> dict[str, Any]:
    """The report as one JSON-able dict; `sample_ms` is the returns' period (default `interval_ms`)."""
    sample_ms = sample_ms or interval_ms
    start = result.start_equity_usdc
    end = result.equity[-1][1] if result.equity else start
    filled = [t for t in result.trades if t.fill.status == FILLED]
    pairs = _by_pair(result)
    costs = _costs(result)
    return {
        **_counts(result),
        "period": _period(result),
        "start_equity_usdc": round(start, 2),
        "end_equity_usdc": round(end, 2),
        "pnl_usdc": round(end - start, 2),
        "return_pct": _pct(end, start),
        **_performance(result, sample_ms),
        "win_rate": _win_rate(filled),
        "trades": len(filled),
        "failed_fills": len(result.trades) - len(filled),
        "turnover": round(sum(t.notional_usdc for t in filled) / start, 4) if start else 0.0,
        "fees_usdc": round(sum(t.fee_usdc for t in filled), 4),
        "by_pair": pairs,
        # what the pairs' PnL and the network fees do not explain: the rest of the wallet (the opening SOL)
        # re-marked
        "holdings_revaluation_usdc": round(
            end - start - sum(r["pnl_usdc"] for r in pairs.values()) + costs["network_fees_usdc"], 2
        ),
        "costs": costs,
        "fill_model": result.fill_model,
        "by_strategy": _by_strategy(result.trades),
        "models": {
            "aggregate": _rounded(_aggregate_models(result.models)),
            "by_pair": {p: _rounded({k: m[k] for k in MODEL_METRICS}) for p, m in result.models.items()},
        },
        # the same aggregate under the name the acceptance reads, with the bandit's weights per cycle
        "model": _rounded(_aggregate_models(result.models)),
        "allocations": [
            {"ts_ms": a.ts_ms, "time": iso_utc(a.ts_ms), "pair": a.pair, "weights": _weights(a.weights)}
            for a in result.allocations
        ],
        "equity_points": len(result.equity),
        "trade_log": [_trade_row(t) for t in result.trades],
    }


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


def _weights(weights: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 6) for k, v in weights.items()}


def _counts(result: BacktestResult) -> dict[str, Any]:
    return {
        "seed": result.seed,
        "events": result.events,
        "events_per_s": round(result.events / result.elapsed_s, 1) if result.elapsed_s > 0 else 0.0,
        "elapsed_s": round(result.elapsed_s, 3),
        "dead_letters": result.dead_letters,
        "dead_letter_lines": [{"line": line, "reason": reason} for line, reason in result.dead_letter_lines],
        # exits sold over the slippage cap (protective: getting out beats the cap; risk.exits)
        "exits_over_slippage_cap": sum(1 for o in result.orders if "protective exit" in o.reason),
        "launches": result.launches,
        "snapshots": result.snapshots,
        "signals": result.signals,
        "orders": len(result.trades),
        "rejected": result.rejections,
        "rejections_by_code": result.rejection_codes,
    }


def _period(result: BacktestResult) -> dict[str, Any]:
    """The span of event time the equity curve covers."""
    if not result.equity:
        return {"start": None, "end": None, "span_s": 0.0}
    t0, t1 = result.equity[0][0], result.equity[-1][0]
    return {"start": iso_utc(t0), "end": iso_utc(t1), "span_s": round((t1 - t0) / 1000, 3)}


def _performance(result: BacktestResult, sample_ms: int) -> dict[str, Any]:
    """Risk-adjusted figures of the wallet, of trading alone, and of the buy-and-hold benchmark."""
    start = result.start_equity_usdc
    equity, bench = result.equity, result.benchmark or [(t, start) for t, _ in result.equity]
    bench_end = bench[-1][1] if bench else start
    end = equity[-1][1] if equity else start
    trading = [(t, start + e - b) for (t, e), (_, b) in zip(equity, bench, strict=True)]
    s, so, basis = ratios(equity, sample_ms)
    ts, tso, _ = ratios(trading, sample_ms)
    bs, bso, _ = ratios(bench, sample_ms)
    dd, bdd = max_drawdown(equity), max_drawdown(bench)
    return {
        "trading_pnl_usdc": round(end - bench_end, 2),
        "inventory_revaluation_usdc": round(bench_end - start, 2),
        "benchmark": {
            "name": "hold the opening wallet",
            "start_usdc": round(start, 2),
            "end_usdc": round(bench_end, 2),
            "pnl_usdc": round(bench_end - start, 2),
            "return_pct": _pct(bench_end, start),
            "sharpe": round(bs, 3),
            "sortino": round(bso, 3),
            "max_drawdown_pct": round(bdd.depth_pct, 4),
        },
        "sharpe": round(s, 3),
        "sortino": round(so, 3),
        "trading_sharpe": round(ts, 3),
        "trading_sortino": round(tso, 3),
        "ratio_basis": {
            "sample_ms": basis.sample_ms,
            "returns": basis.returns,
            "span_s": round(basis.span_ms / 1000, 3),
            "periods_per_year": round(basis.periods_per_year, 1),
            "year_days": 365,
            "risk_free_rate": 0.0,
            "text": basis.describe(),
        },
        "max_drawdown_pct": round(dd.depth_pct, 4),
        "max_drawdown": {
            "pct": round(dd.depth_pct, 4),
            "usdc": round(dd.depth, 2),
            "peak": iso_utc(dd.peak_ms),
            "trough": iso_utc(dd.trough_ms),
            "recovered": iso_utc(dd.recovered_ms),
        },
    }


def _pct(end: float, start: float) -> float:
    return round((end / start - 1.0) * 100, 4) if start else 0.0


def _win_rate(filled: Iterable[TradeRecord]) -> float:
    sells = [t for t in filled if t.order.side == "sell"]
    return round(sum(1 for t in sells if t.realised_usdc > 0) / len(sells), 4) if sells else 0.0


def _by_pair(result: BacktestResult) -> dict[str, dict[str, Any]]:
    ledger = result.ledger
    groups: dict[str, list[TradeRecord]] = {}
    for t in result.trades:
        groups.setdefault(t.order.pair, []).append(t)
    for pair in ledger.positions:
        groups.setdefault(pair, [])
    out: dict[str, dict[str, Any]] = {}
    for pair, trades in sorted(groups.items()):
        row = _group_row(trades)
        row["unrealised_usdc"] = 0.0
        pos = ledger.positions.get(pair)
        if pos is not None:
            price = ledger.prices.get(pair, 0.0)
            quote_usdc = ledger.usdc_per_human(pos.quote_mint)
            held = pos.base_amount / 10**pos.base_decimals * price * quote_usdc
            row["unrealised_usdc"] = held - pos.cost_quote / 10**pos.quote_decimals * quote_usdc
        row["pnl_usdc"] = row["realised_usdc"] + row["unrealised_usdc"]
        out[pair] = _rounded(row)
    return out


def _by_strategy(trades: list[TradeRecord]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[TradeRecord]] = {}
    for t in trades:
        groups.setdefault(t.strategy, []).append(t)
    out = {}
    for name, group in sorted(groups.items()):
        row = _group_row(group)
        row["pnl_usdc"] = row["realised_usdc"]
        out[name] = _rounded(row)
    return out


def _group_row(trades: list[TradeRecord]) -> dict[str, Any]:
    """Orders, fills, win rate, volume, fees, realised PnL and its worst fall, for one pair or strategy."""
    filled = [t for t in trades if t.fill.status == FILLED]
    sells = [t for t in filled if t.order.side == "sell"]
    return {
        "orders": len(trades),
        "trades": len(filled),
        "sells": len(sells),
        "wins": sum(1 for t in sells if t.realised_usdc > 0),
        "win_rate": _win_rate(filled),
        "notional_usdc": sum(t.notional_usdc for t in filled),
        "fees_usdc": sum(t.fee_usdc for t in filled),
        "realised_usdc": sum(t.realised_usdc for t in filled),
        "max_drawdown_usdc": max_drawdown_of_steps(t.realised_usdc for t in filled),
    }


def _trade_row(t: TradeRecord) -> dict[str, Any]:
    """One order and its outcome, in the units a trader reads (base and quote as human amounts)."""
    fill, order = t.fill, t.order
    filled = fill.status == FILLED
    return {
        "time": iso_utc(order.ts_ms),
        "order_id": order.id,
        "pair": order.pair,
        "side": order.side,
        "kind": order.kind,
        "strategy": t.strategy,
        "status": fill.status,
        "reason": fill.reason,
        "size_base": fill.base_amount / 10**fill.base_decimals if filled else 0.0,
        "price_quote": fill.price if filled else 0.0,
        "quote": order.pair.partition("/")[2],
        "notional_usdc": round(t.notional_usdc, ROUND),
        "fee_usdc": round(t.fee_usdc, ROUND),
        "pnl_usdc": round(t.realised_usdc, ROUND),
    }


def _aggregate_models(models: dict[str, dict[str, float]]) -> dict[str, float]:
    total = sum(m["n"] for m in models.values())
    agg: dict[str, float] = {"n": total}
    for name in MODEL_METRICS[1:]:
        agg[name] = sum(m[name] * m["n"] for m in models.values()) / total if total else 0.0
    return agg


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, ROUND) if isinstance(v, float) else v) for k, v in row.items()}
