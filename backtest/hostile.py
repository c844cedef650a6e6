"""Hostile recordings built from a calm one: the markets and inputs the risk limits must hold against.

`python -m backtest.hostile IN OUT [--scenario NAME ...] [--at-s S]` writes OUT: IN's records with each
scenario applied from T = S seconds after the recording's first swap (default 40). Scenarios:

  crash    at T, JUP/USDC falls 40 % over 10 s (its pools' base reserves grow, amounts with them)
  drain    at T + 30 s, SOL/USDC's pools lose 95 % of both reserves (price unchanged, depth gone)
  rug      at T + 70 s, each Pump.fun curve's creator dumps: its price falls 100-fold and stays there
  gap      from T + 75 s, no swap at all for 60 s (every pair's feed is silent)
  absurd   at T - 20 s, one consistent 1 000x price print (a lone outlier), a swap from a day in the
           future, one in microseconds, one taking out more than its pool held, one priced 1 000x off
           its pool
  malformed  a bare NaN line, a line that is not JSON, a cut-off record (after the first record)

`absurd` and `malformed` lines are dead letters for the backtest (counted, with their line numbers);
the others are markets the limits must survive. Pure functions of the records, so a test builds the same
file as the command.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from core.errors import InputError

SWAPS = "raw.swaps"
PROGRESS = "__progress__"
CRASH_PAIR = "JUP/USDC"
DRAIN_PAIR = "SOL/USDC"
DAY_MS = 86_400_000

Line = bytes  # one line of the output file (a record's JSON, or the malformed text itself)


def _is_swap(rec: dict[str, Any]) -> bool:
    return rec.get("topic") == SWAPS and rec.get("key") != PROGRESS


def _scale(value: dict[str, Any], base: float, quote: float) -> dict[str, Any]:
    """A swap with its base side (reserve and amount) times `base`, its quote side times `quote`."""
    out = dict(value)
    for field in ("base_reserve", "base_amount", "real_base_reserve"):
        if out.get(field):
            out[field] = max(1, round(out[field] * base))
    for field in ("quote_reserve", "quote_amount"):
        out[field] = max(1, round(out[field] * quote))
    return out


def crash(records: list[dict[str, Any]], at_ms: int, pair: str = CRASH_PAIR) -> list[dict[str, Any]]:
    """`pair` falls 40 % over 10 s from `at_ms` and stays down."""
    out = []
    for rec in records:
        v = rec.get("value")
        if _is_swap(rec) and isinstance(v, dict) and v.get("pair") == pair and v["ts_ms"] >= at_ms:
            fall = 1.0 - 0.4 * min(1.0, (v["ts_ms"] - at_ms) / 10_000.0)
            rec = {**rec, "value": _scale(v, 1.0 / fall, 1.0)}
        out.append(rec)
    return out


def drain(records: list[dict[str, Any]], at_ms: int, pair: str = DRAIN_PAIR) -> list[dict[str, Any]]:
    """95 % of `pair`'s liquidity leaves at `at_ms`: both reserves (and the swaps sized to them) x 0.05."""
    out = []
    for rec in records:
        v = rec.get("value")
        if _is_swap(rec) and isinstance(v, dict) and v.get("pair") == pair and v["ts_ms"] >= at_ms:
            rec = {**rec, "value": _scale(v, 0.05, 0.05)}
        out.append(rec)
    return out


def rug(records: list[dict[str, Any]], at_ms: int) -> list[dict[str, Any]]:
    """Every Pump.fun curve traded after `at_ms` is dumped on: base x 10, quote x 0.1 (price / 100)."""
    out = []
    for rec in records:
        v = rec.get("value")
        if _is_swap(rec) and isinstance(v, dict) and v.get("venue") == "pumpfun" and v["ts_ms"] >= at_ms:
            rec = {**rec, "value": _scale(v, 10.0, 0.1)}
        out.append(rec)
    return out


def gap(records: list[dict[str, Any]], at_ms: int, span_ms: int = 60_000) -> list[dict[str, Any]]:
    """No swap in [at_ms, at_ms + span_ms): the feed is silent."""
    return [
        rec
        for rec in records
        if not (
            _is_swap(rec)
            and isinstance(rec.get("value"), dict)
            and at_ms <= rec["value"]["ts_ms"] < at_ms + span_ms
        )
    ]


def _first_swap_at(records: list[dict[str, Any]], at_ms: int, pair: str) -> int:
    for i, rec in enumerate(records):
        v = rec.get("value")
        if _is_swap(rec) and isinstance(v, dict) and v.get("pair") == pair and v["ts_ms"] >= at_ms:
            return i
    raise InputError(f"no {pair} swap after {at_ms}: the recording is too short for this scenario")


def absurd(records: list[dict[str, Any]], at_ms: int) -> tuple[list[dict[str, Any]], int]:
    """Insert absurd swaps next to the first SOL/USDC swap after `at_ms`; returns the records and how many
    of them are dead letters (all but the lone outlier, which is a well-formed swap risk must filter)."""
    i = _first_swap_at(records, at_ms, DRAIN_PAIR)
    base = records[i]
    v = base["value"]
    outlier = _scale(v, 0.001, 1.0)  # base / 1 000: a 1 000x price, amounts consistent with it
    future = {**v, "ts_ms": v["ts_ms"] + DAY_MS}
    micros = {**v, "ts_ms": v["ts_ms"] * 1000, "received_ms": v["received_ms"] * 1000}
    too_much = {
        **v,
        "side": "buy",
        "base_amount": v["base_reserve"] * 2,
        "quote_amount": v["quote_reserve"] * 2,
    }
    off_pool = {**v, "quote_amount": v["quote_amount"] * 1000}
    inserted = [outlier, future, micros, too_much, off_pool]
    extra = [{**base, "offset": base["offset"], "value": value} for value in inserted]
    return records[: i + 1] + extra + records[i + 1 :], len(inserted) - 1


MALFORMED: tuple[Line, ...] = (
    b'{"topic": "raw.swaps", "partition": 0, "offset": 1, "key": "SOL/USDC", "value": {"price": NaN}}',
    b"this is not JSON",
    b'{"topic": "raw.swaps", "partition": 0, "off',
)


def to_lines(records: Iterable[dict[str, Any]]) -> list[Line]:
    return [orjson.dumps(rec) for rec in records]


def malformed(lines: list[Line], after: int = 1) -> list[Line]:
    """The malformed lines, after the `after`-th line (the first line must be a record: see read_records)."""
    return lines[:after] + list(MALFORMED) + lines[after:]


SCENARIOS = ("crash", "drain", "rug", "gap", "absurd", "malformed")


def build(
    records: list[dict[str, Any]], scenarios: Iterable[str], at_s: float = 40.0
) -> tuple[list[Line], int]:
    """The hostile file's lines, and how many of them the backtest must count as dead letters."""
    swaps = [rec["value"]["ts_ms"] for rec in records if _is_swap(rec) and isinstance(rec.get("value"), dict)]
    if not swaps:
        raise InputError("the recording has no swap to build on")
    at_ms = min(swaps) + round(at_s * 1000)
    dead = 0
    wanted = set(scenarios)
    unknown = wanted - set(SCENARIOS)
    if unknown:
        raise InputError(
            f"unknown scenario {', '.join(sorted(unknown))} (choose from {', '.join(SCENARIOS)})"
        )
    # One after the other (a 180 s recording holds them all from 40 s): the crash at T, the drain 30 s
    # later on another pair, the rugs at T + 70 s (both sample launches trade by then), the gap after.
    steps: dict[str, Callable[[list[dict[str, Any]], int], list[dict[str, Any]]]] = {
        "crash": crash,
        "drain": lambda r, t: drain(r, t + 30_000),
        "rug": lambda r, t: rug(r, t + 70_000),
        "gap": lambda r, t: gap(r, t + 75_000),
    }
    for name in ("crash", "drain", "rug", "gap"):
        if name in wanted:
            records = steps[name](records, at_ms)
    if "absurd" in wanted:
        records, dead = absurd(records, at_ms - 20_000)  # amid calm trading, before the crash
    lines = to_lines(records)
    if "malformed" in wanted:
        lines = malformed(lines)
        dead += len(MALFORMED)
    return lines, dead


def write_lines(path: Path, lines: Iterable[Line]) -> None:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        for line in lines:
            fh.write(line + b"\n")


def main(argv: list[str] | None = None) -> int:
    from backtest.recording import read_records

    parser = argparse.ArgumentParser(prog="python -m backtest.hostile", description=__doc__.splitlines()[0])
    parser.add_argument("recording", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="repeatable; default: all")
    parser.add_argument("--at-s", type=float, default=40.0, help="seconds after the first swap")
    args = parser.parse_args(argv)
    try:
        records = list(read_records(args.recording))
        lines, dead = build(records, args.scenario or SCENARIOS, args.at_s)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_lines(args.out, lines)
    print(f"{args.out}: {len(lines)} lines, {dead} of them dead letters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
