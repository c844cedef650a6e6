"""`solbot backtest FILE [--seed N] [--html OUT]`: a recording through the live decision code, offline.

Prints one JSON object (the report) as the last line of stdout and writes the HTML page (default: next
to FILE, `<name>.html`). Needs no broker, database or Redis.
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
    from backtest.engine import run_file
    from backtest.report import summarise
    from backtest.report_html import render_html

    result = run_file(args.file, settings, seed=args.seed)
    if result.events == 0:
        raise InputError(f"{args.file} holds no records: nothing to test")
    summary = summarise(result, interval_ms=settings.snapshot_interval_ms, sample_ms=args.sample_ms)
    out = args.html or default_html_path(args.file)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(result, summary, source=args.file.name), encoding="utf-8")
    summary["html"] = str(out)
    print(orjson.dumps(summary).decode())
    return 0
