"""Benchmark: what one JSON-RPC call costs the bot, against the local fake node (not a pytest test).

`RpcClient.get_latest_blockhash` against `tests/collectors/solana_rpc_server.py` on 127.0.0.1: N calls
one after another (per-call latency: p50, p99, max, calls/s), then N calls with `--concurrency` in flight
(calls/s). The server is in the same process, so this measures the client's own overhead plus one local
HTTP round trip: the figure to compare between client implementations, not a node's latency.

    PYTHONPATH=. python bench/rpc_overhead.py [--n 1000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "collectors"))
from solana_rpc_server import RpcServer

from chain.rpc import RpcClient


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench(n: int, concurrency: int) -> dict[str, object]:
    async with RpcServer() as server:
        client = RpcClient(server.url, timeout_s=5)
        try:
            for _ in range(20):  # warm up: connection, imports, caches
                await client.get_latest_blockhash()
            latencies: list[float] = []
            started = time.perf_counter()
            for _ in range(n):
                t0 = time.perf_counter_ns()
                await client.get_latest_blockhash()
                latencies.append((time.perf_counter_ns() - t0) / 1e6)
            sequential_s = time.perf_counter() - started
            gate = asyncio.Semaphore(concurrency)

            async def one() -> None:
                async with gate:
                    await client.get_latest_blockhash()

            started = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(n)))
            concurrent_s = time.perf_counter() - started
        finally:
            await client.close()
    return {
        "load_average_1m": round(os.getloadavg()[0], 2),  # this machine is shared: read tails with it
        "calls": n,
        "sequential": {
            "p50_ms": round(statistics.median(latencies), 3),
            "p99_ms": round(pct(latencies, 0.99), 3),
            "max_ms": round(max(latencies), 3),
            "calls_per_s": round(n / sequential_s),
        },
        "concurrent": {"in_flight": concurrency, "calls_per_s": round(n / concurrent_s)},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    result = asyncio.run(bench(args.n, args.concurrency))
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
