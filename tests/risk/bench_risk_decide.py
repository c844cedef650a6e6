"""Microseconds per `decide` call (not collected by pytest).

Run: PYTHONPATH=.:tests/risk python tests/risk/bench_risk_decide.py
The state holds three positions and two pending orders, as in steady trading; an approved buy prices two
pools. After each approved call its reservation is dropped so every call takes the same path.
"""

from __future__ import annotations

import time

from risk_factories import fill_for, fresh, pool, signal

import risk as rr
from streams.records import Order, Signal

N = 20_000


def steady_state() -> rr.RiskState:
    limits = rr.RiskLimits()
    state = fresh(limits)
    for i, (pair, price) in enumerate([("SOL/USDC", 100.0), ("BONK/SOL", 2e-7), ("JUP/USDC", 1.0)]):
        order = rr.decide(state, signal(pair, price, sid=f"w{i}"), limits, 0)
        assert isinstance(order, Order)
        rr.apply_fill(state, fill_for(order))
    rr.decide(state, signal("JUP/USDC", 1.0, sid="p1"), limits, 0)
    rr.decide(state, signal("BONK/SOL", 2e-7, sid="p2"), limits, 0)
    return state


def bench(label: str, signals: list[Signal], drop_reservation: bool) -> None:
    limits = rr.RiskLimits()
    state = steady_state()
    t0 = time.perf_counter()
    for sig in signals:
        out = rr.decide(state, sig, limits, 0)
        if drop_reservation and isinstance(out, Order):
            del state.pending[out.id]
    us = (time.perf_counter() - t0) / len(signals) * 1e6
    print(f"{label}: {us:.1f} us per decide")


def main() -> None:
    pools = [pool("JUP/USDC", 1.0, name="a"), pool("JUP/USDC", 1.0, fee_bps=30, name="b")]
    buys = [signal("JUP/USDC", 1.0, sid=f"b{i}", pools=pools) for i in range(N)]
    weak = [signal("JUP/USDC", 1.0, sid=f"w{i}", pools=pools, confidence=0.5) for i in range(N)]
    bench("approved buy (2 pools)", buys, drop_reservation=True)
    bench("rejected (low confidence)", weak, drop_reservation=False)


if __name__ == "__main__":
    main()
