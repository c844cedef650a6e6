"""`solbot backtest FILE [--seed N] [--html OUT] [--orders OUT] [--fills honest|pipeline]`: a recording
through the live decision code, offline.

Prints one JSON object (the report) as the last line of stdout and writes the HTML page (default: next
to FILE, `<name>.html`); `--orders` also writes every order as a JSON line (`backtest.order_log`).
`--fills honest` (default) applies the `BACKTEST_*` fill model (latency, own impact, network fees,
sandwich, per-pool staleness); `--fills pipeline` fills as the paper pipeline does (at once, on the
decision's state). Needs no broker, database or Redis.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from core.errors import InputError
from core.settings import Settings


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "backtest", help="run a recording through the decision code; JSON + HTML report"
    )
    p.add_argument("file", type=Path, help="a recording (`solbot record`, JSON Lines, .gz: gzip)")
    p.add_argument("--seed", type=int, default=0, help="seeds the global random generators (default 0)")
    p.add_argument(
        "--html", type=Path, default=None, help="report page (default: FILE without .gz/.jsonl + .html)"
    )
    p.add_argument(
        "--sample-ms",
        type=positive_int,
        default=None,
        metavar="MS",
        help="period of the returns behind Sharpe and Sortino, in ms of event time "
        "(default: the snapshot interval, 500 unless SNAPSHOT_INTERVAL_MS is set)",
    )
    p.add_argument(
        "--orders", type=Path, default=None, help="write every order as one JSON line to this file"
    )
    p.add_argument(
        "--fills",
        choices=("honest", "pipeline"),
        default="honest",
        help="honest: the BACKTEST_* fill model (default); pipeline: at once on the decision's state",
    )


def positive_int(text: str) -> int:
    """An argparse type: a whole number > 0 (argparse turns the ValueError into one usage line)."""
    value = int(text)
    if value <= 0:
        raise ValueError(text)
    return value


def default_html_path(file: Path) -> Path:
    name = file.name
    for suffix in (".gz", ".jsonl", ".json"):
        name = name.removesuffix(suffix)
    return file.with_name(name + ".html")


def main(settings: Settings, args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"solbot: no such file: {args.file}", file=sys.stderr)
        return 1
    if args.orders is not None and args.orders.is_dir():
        raise InputError(f"--orders {args.orders} is a directory: give a file to write the orders to")
    from backtest.engine import run_file
    from backtest.fill_model import FillModel
    from backtest.report import summarise
    from backtest.report_html import render_html

    fill_model = FillModel.pipeline() if args.fills == "pipeline" else None
    result = run_file(args.file, settings, seed=args.seed, fill_model=fill_model)
    if result.events == 0:
        raise InputError(f"{args.file} holds no records: nothing to test")
    summary = summarise(result, interval_ms=settings.snapshot_interval_ms, sample_ms=args.sample_ms)
    out = args.html or default_html_path(args.file)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(result, summary, source=args.file.name), encoding="utf-8")
    summary["html"] = str(out)
    if args.orders is not None:
        from backtest.order_log import write_orders

        args.orders.parent.mkdir(parents=True, exist_ok=True)
        write_orders(args.orders, result.trades)
        summary["orders_file"] = str(args.orders)
    print(orjson.dumps(summary).decode())
    return 0
