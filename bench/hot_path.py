"""The features stage in process: raw swap bytes -> decode + validate -> fold, in agent-sized batches.

A micro-benchmark of the code every raw event goes through in both the agent and the backtest, without
a broker; `--profile` prints where the time goes. `python -m bench.hot_path [--swaps N] [--profile]`.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time

from backtest.memory_tables import feature_tables
from features.folding import FeatureFolder
from market.simulator import MarketSimulator
from streams.codec import decode_swap, encode
from streams.records import Swap
from streams.validate import check_swap


def raw_swaps(count: int, seed: int) -> list[bytes]:
    sim = MarketSimulator(seed=seed, rate_eps=5000.0, start_ms=1_700_000_000_000, launches=False)
    out: list[bytes] = []
    for event in sim.events():
        if isinstance(event, Swap):
            out.append(encode(event))
            if len(out) == count:
                break
    return out


def fold_all(raws: list[bytes], batch: int) -> int:
    """Decode and fold every swap, flushing every `batch` like the agent; returns the snapshot count."""
    tables = feature_tables()
    folder = FeatureFolder(snapshot_interval_ms=1000, **tables)
    snapshots = 0
    for offset, raw in enumerate(raws):
        snapshots += folder.fold(check_swap(decode_swap(raw)), 0, offset, 0) is not None
        if offset % batch == batch - 1:
            folder.flush()
            folder = FeatureFolder(snapshot_interval_ms=1000, **tables)
    folder.flush()
    return snapshots


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--swaps", type=int, default=40_000)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--profile", action="store_true")
    args = p.parse_args(argv)
    raws = raw_swaps(args.swaps, args.seed)
    started = time.perf_counter()
    snapshots = fold_all(raws, args.batch)
    elapsed = time.perf_counter() - started
    print(f"decode + fold: {len(raws) / elapsed:,.0f} swaps/s ({len(raws):,} swaps, {snapshots} snapshots)")
    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(fold_all, raws, args.batch)
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
