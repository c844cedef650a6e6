"""`python -m bench.chaos_diff DIR`: where a kept `make chaos` run (`--keep DIR`) first left its calm run.

`make chaos` says only whether each window's orders equal the calm run's. This reads the committed
`features`, `signals` and `orders` of both runs (each run's broker started again on its kept data) and
prints, per topic, how many records differ and the first ones in event-time order. The first topic that
differs points at its producer: a snapshot at the features agent (its tables, its input), a signal whose
snapshot agrees at the model, an order whose signals agree at risk. Wall-clock stamps and offsets differ
between any two runs and are left out of the comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from core.settings import load_settings
from services.stack import Stack
from solbot.audit import read_topic
from streams.broker import bootstrap_of
from streams.broker_auth import broker_auth

TOPICS = ("features", "signals", "orders")
VOLATILE = frozenset({"origin_ms", "source_offset", "source_partition", "decided_ms", "emitted_ms"})
SHOWN = 5


async def _read(bootstrap: str, auth: Any) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for topic in TOPICS:
        records: dict[str, dict[str, Any]] = {}
        for value in await read_topic(bootstrap, topic, auth):
            if "id" in value:
                records.setdefault(str(value["id"]), value)  # a record re-sent after a crash: its first copy
        out[topic] = records
    return out


def records_of(data_dir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """The committed records of TOPICS by id, from the run kept in `data_dir`."""
    settings = load_settings(data_dir=data_dir, broker_url=None, database_url=None, redis_url=None)
    with Stack(settings) as stack:
        return asyncio.run(_read(bootstrap_of(stack.broker_url), broker_auth(settings, stack.broker_url)))


def _stable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in VOLATILE}


def differences(
    calm: dict[str, dict[str, Any]], chaos: dict[str, dict[str, Any]]
) -> list[tuple[Any, str, str]]:
    """(event time, id, what) of every record only one run has or both have with other contents."""
    out = []
    for rid in set(calm) | set(chaos):
        a, b = calm.get(rid), chaos.get(rid)
        if a is None or b is None:
            what = "only in the calm run" if b is None else "only in the chaos run"
        elif _stable(a) != _stable(b):
            changed = sorted(k for k in set(a) | set(b) if k not in VOLATILE and a.get(k) != b.get(k))
            if changed == ["features"]:
                changed = sorted(k for k in a["features"] if a["features"].get(k) != b["features"].get(k))
            what = "differs in " + ", ".join(changed[:6])
        else:
            continue
        record = a if a is not None else b
        assert record is not None
        out.append((record.get("ts_ms", 0), rid, what))
    return sorted(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos_diff", description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="the directory `make chaos --keep` kept")
    args = parser.parse_args(argv)
    runs = {name: args.dir / name for name in ("calm", "chaos")}
    missing = [str(path) for path in runs.values() if not path.is_dir()]
    if missing:
        print(f"chaos_diff: no kept run at {', '.join(missing)} (run `make chaos` with --keep DIR)")
        return 2
    calm, chaos = records_of(runs["calm"]), records_of(runs["chaos"])
    for topic in TOPICS:
        diff = differences(calm[topic], chaos[topic])
        print(f"{topic}: {len(diff)} of {len(set(calm[topic]) | set(chaos[topic]))} differ")
        for ts, rid, what in diff[:SHOWN]:
            print(f"  {ts} {rid}: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
