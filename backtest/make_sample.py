"""Write a deterministic recording of the simulated market, as `solbot record` would have captured it.

`python -m backtest.make_sample [--seed 1] [--duration 180] [--rate 300] [--out samples/sim-seed1.jsonl.gz]`

Each event goes where the feed would send it (raw.swaps keyed by pair, raw.launches keyed by mint), to
the partition Kafka's default partitioner picks for its key (murmur2, as aiokafka producers do), at the
next offset of that partition. `received_ms` and the broker `timestamp_ms` are the event time (a
collector with zero delay), and the start time is fixed, so the file is byte-for-byte reproducible.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiokafka.partitioner import DefaultPartitioner

from backtest.recording import write_records
from market.market_data import destination, with_market_data
from market.simulator import MarketSimulator

SAMPLE_START_MS = 1_700_000_000_000
DEFAULT_OUT = Path("samples/sim-seed1.jsonl.gz")


def sample_records(
    *,
    seed: int,
    duration_s: float,
    rate_eps: float,
    partitions: int,
    start_ms: int = SAMPLE_START_MS,
    random_walk: bool = False,
    market_data_ms: int = 0,
) -> Iterator[dict[str, Any]]:
    """The simulator's first `duration_s` of event time as recording lines (`random_walk`: no signal;
    `market_data_ms`: its quotes and perp book too, `market.market_data`)."""
    sim = MarketSimulator(seed=seed, rate_eps=rate_eps, start_ms=start_ms, random_walk=random_walk)
    events = with_market_data(sim, market_data_ms) if market_data_ms else sim.events()
    partitioner = DefaultPartitioner()
    all_partitions = list(range(partitions))
    next_offset: dict[tuple[str, int], int] = {}
    end_ms = start_ms + int(duration_s * 1000)
    for event in events:
        if event.ts_ms >= end_ms:
            return
        event.received_ms = event.ts_ms
        topic, key = destination(event)
        partition = partitioner(key.encode(), all_partitions, all_partitions)
        offset = next_offset.get((topic, partition), 0)
        next_offset[(topic, partition)] = offset + 1
        yield {
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "key": key,
            "value": event.asdict(),
            "timestamp_ms": event.ts_ms,
        }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m backtest.make_sample", description=__doc__)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--duration", type=float, default=180.0, help="seconds of event time")
    p.add_argument("--rate", type=float, default=300.0, help="events per second of event time")
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument("--market-data-ms", type=int, default=0, help="quotes and perp books every N ms (0: none)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    n = write_records(
        args.out,
        sample_records(
            seed=args.seed,
            duration_s=args.duration,
            rate_eps=args.rate,
            partitions=args.partitions,
            market_data_ms=args.market_data_ms,
        ),
    )
    print(f"wrote {n} records to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
