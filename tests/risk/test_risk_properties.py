"""Property tests: arbitrary signals, price ticks (exits), fills, mint records, kill-switch controls and
event-time gaps never break the risk invariants nor exceed any limit, and never lose a position.

Rounding tolerance: sizes are floored to raw units, so an approved order is never above its target;
what remains is float summation error in equity and exposure (USDC floats built from integer raw units
times prices), bounded here by 1e-9 of equity plus 1e-6 USDC.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from risk_factories import BONK, JUP, PAIRS, PUMP, fill_for, fresh, pool, signal

import risk as rr
from solbot.audit import decision_id
from streams.records import Control, MintInfo, Order, PoolState

BASE_PRICE = {"SOL/USDC": 100.0, "JUP/USDC": 1.0, "BONK/SOL": 2e-7, "PUMP/SOL": 3e-8}
PAIR_NAMES = list(BASE_PRICE)
TOKENS = {"JUP/USDC": JUP, "BONK/SOL": BONK, "PUMP/SOL": PUMP}  # bases held only through positions


def pools_for(pair: str, price: float) -> list[PoolState]:
    if pair == "PUMP/SOL":
        return [pool(pair, price, depth_quote=60.0, venue="pumpfun", fee_bps=100)]
    if pair == "JUP/USDC":  # a deep pool, a shallow one that often breaks the slippage cap, and a
        # middle one that large buys outgrow, so that they split across it and the others
        thin = pool(pair, price, depth_quote=40_000.0, fee_bps=5, name="thin")
        mid = pool(pair, price, depth_quote=150_000.0, fee_bps=30, venue="orca", name="mid")
        return [pool(pair, price, depth_quote=100_000.0, name="deep"), thin, mid]
    return [pool(pair, price, depth_quote=2_000_000.0)]


def tolerance(equity: float) -> float:
    return 1e-9 * abs(equity) + 1e-6


signal_op = st.tuples(
    st.just("signal"),
    st.sampled_from(PAIR_NAMES),
    st.sampled_from([1, 1, -1]),
    st.floats(0.5, 1.5),
    st.floats(0.5, 1.0),
)
exit_op = st.tuples(st.just("exit"), st.sampled_from(PAIR_NAMES), st.floats(0.4, 1.2))
fill_op = st.tuples(
    st.just("fill"), st.integers(0, 50), st.sampled_from(["filled", "worse", "failed"]), st.floats(0.0, 1.0)
)
control_op = st.tuples(st.just("control"), st.sampled_from(["halt", "resume"]), st.booleans())
mint_op = st.tuples(st.just("mint"), st.sampled_from(PAIR_NAMES), st.booleans(), st.booleans())
# Event time moves 1 s per op, plus an occasional gap (rate window, staleness, time stop, day boundary).
gap_op = st.tuples(st.just("gap"), st.sampled_from([10_000, 45_000, 3_600_000, 86_400_000]))
ops_st = st.lists(
    st.one_of(signal_op, exit_op, fill_op, control_op, mint_op, gap_op), min_size=5, max_size=60
)


@st.composite
def limits_st(draw: Any) -> rr.RiskLimits:
    position = draw(st.floats(1.0, 20.0))
    pair = draw(st.floats(position, 40.0))
    total = draw(st.floats(pair, 80.0))
    return rr.RiskLimits(
        max_position_pct=position,
        max_pair_exposure_pct=pair,
        max_total_exposure_pct=total,
        max_drawdown_pct=draw(st.sampled_from([5.0, 10.0, 100.0])),
        max_slippage_bps=draw(st.sampled_from([50, 100, 500])),
        paper_start_usdc=draw(st.sampled_from([0.0, 500.0, 10_000.0])),
        paper_start_sol=draw(st.sampled_from([0.0, 5.0, 50.0])),
        max_concurrent_positions=draw(st.sampled_from([1, 2, 5])),
        max_orders_per_minute=draw(st.sampled_from([2, 5, 20])),
        min_pool_liquidity_usdc=draw(st.sampled_from([0.0, 50_000.0, 100_000.0])),
        max_launch_notional_usdc=draw(st.sampled_from([20.0, 100.0])),
        max_daily_drawdown_pct=draw(st.sampled_from([2.0, 5.0, 100.0])),
        flatten_on_halt=draw(st.booleans()),
        take_profit_pct=draw(st.sampled_from([5.0, 50.0])),
    )


def check_buy(state: rr.RiskState, order: Order, limits: rr.RiskLimits) -> None:
    """(a): right after an approved buy, exposure is within every cap and the entry within the size cap."""
    equity = rr.equity_usdc(state)
    tol = tolerance(equity)
    notional = order.amount_in * rr.unit_value_usdc(state, state.pending[order.id].input_mint)
    assert notional <= limits.max_position_pct / 100 * equity + tol
    assert notional >= limits.min_order_usdc - tol
    assert rr.pair_exposure_usdc(state, order.pair) <= limits.max_pair_exposure_pct / 100 * equity + tol
    assert rr.total_exposure_usdc(state) <= limits.max_total_exposure_pct / 100 * equity + tol


def run(ops: list[tuple[Any, ...]], limits: rr.RiskLimits, *, twice: bool, restore: bool) -> rr.RiskState:
    """Play the ops; with `twice` every fill is applied twice, with `restore` the state is rebuilt from
    its JSON form after every step (as the agent's table would after a restart)."""
    state = fresh(limits)
    open_orders: list[Order] = []
    filled_base = dict.fromkeys(PAIRS, 0)
    order_times: list[int] = []  # event time of every order, exits included
    bad_mints: set[str] = set()
    launch_spent = 0.0  # USDC of PUMP/SOL buys approved and not failed
    launch_orders: dict[str, float] = {}
    ts = 0
    for i, op in enumerate(ops):
        ts += 1_000
        new_orders: list[Order] = []
        if op[0] == "signal":
            _, pair, direction, factor, confidence = op
            price = BASE_PRICE[pair] * factor
            # Stale and daily halts may be cleared by this very signal (a fresh price, a new day).
            was_halted = rr.MANUAL_HALT in state.halts or rr.DRAWDOWN in state.halts
            sig = signal(pair, price, direction, sid=str(i), ts_ms=ts, confidence=confidence)
            sig = sig.derive(pools=pools_for(pair, price))
            decisions = rr.decide_all(state, sig, limits, now_ms=i)
            assert len(decisions) == 1 or all(isinstance(o, Order) and o.side == "buy" for o in decisions)
            assert len({decision_id(o.id) for o in decisions}) == 1  # a split's legs are one decision
            for out in decisions:
                assert rr.reason_code(out.reason) in rr.ORDER_CODES + rr.REJECT_CODES
                if not isinstance(out, Order):
                    continue
                new_orders.append(out)
                assert out.side == ("buy" if direction == 1 else "sell")
                assert out.min_amount_out <= rr.quote_pool(out.pool_state, out.side, out.amount_in).amount_out
                if out.side == "buy":
                    assert not was_halted and not state.halted
                    check_buy(state, out, limits)
                    assert state.pairs[pair].base_mint not in bad_mints
                    if out.venue != rr.PUMPFUN:
                        assert rr.pool_liquidity_usdc(state, out.pool_state) >= limits.min_pool_liquidity_usdc
                    buys_in_window = sum(1 for t in order_times if ts - 60_000 < t <= ts)
                    assert buys_in_window < limits.max_orders_per_minute
                    if pair == "PUMP/SOL":
                        launch_orders[out.id] = state.pending[out.id].notional_usdc
                        launch_spent += launch_orders[out.id]
                        assert launch_spent <= limits.max_launch_notional_usdc + tolerance(launch_spent)
                else:
                    assert out.amount_in <= state.positions[pair].base_amount
        elif op[0] == "exit":
            _, pair, factor = op
            price = BASE_PRICE[pair] * factor
            for order in rr.exits(state, pair, price, ts, pools_for(pair, price), limits, now_ms=i):
                assert order.kind in rr.EXIT_KINDS and order.side == "sell"
                assert order.id == f"exit:{pair}:{ts}:{order.kind}"
                new_orders.append(order)
        elif op[0] == "control":
            _, action, flat = op
            rr.apply_control(
                state, Control(id=f"c{i}", action=action, reason="t", flatten=flat, ts_ms=i), limits
            )
            assert (rr.MANUAL_HALT in state.halts) == (action == "halt")
        elif op[0] == "mint":
            _, pair, mint_auth, freeze_auth = op
            mint = PAIRS[pair][0]
            info = MintInfo(
                mint=mint,
                decimals=PAIRS[pair][2],
                mint_authority="Auth1" if mint_auth else None,
                freeze_authority="Frz1" if freeze_auth else None,
                ts_ms=ts,
            )
            rr.apply_mint(state, info, limits)
            (bad_mints.add if mint_auth or freeze_auth else bad_mints.discard)(mint)
        elif op[0] == "gap":
            ts += op[1]
        elif open_orders:
            _, pick, status, worse = op
            order = open_orders.pop(pick % len(open_orders))
            worse = worse if status == "worse" else 0.0
            fill = fill_for(order, "failed" if status == "failed" else "filled", worse, ts_ms=ts)
            rr.apply_fill(state, fill, limits)
            if twice:
                rr.apply_fill(state, fill, limits)
            if fill.status == "filled":
                filled_base[fill.pair] += fill.base_amount if fill.side == "buy" else -fill.base_amount
            elif order.id in launch_orders:
                launch_spent -= launch_orders.pop(order.id)
        for order in rr.flatten(state, limits, now_ms=i):  # what the agent does after every message
            assert (
                order.kind == rr.BREAKER
                and order.side == "sell"
                and rr.reason_code(order.reason) == rr.FLATTEN
            )
            new_orders.append(order)
        open_orders += new_orders
        order_times += [o.ts_ms for o in {decision_id(o.id): o for o in new_orders}.values()]
        # At most one sell in flight per pair; never more pairs open than allowed.
        for pair in PAIRS:
            assert sum(1 for p in state.pending.values() if p.pair == pair and p.side == "sell") <= 1
        assert len(rr.open_pairs(state)) <= limits.max_concurrent_positions
        assert state.halted == bool(state.halts)
        # (b) balances never go negative.
        assert all(v >= 0 for v in state.balances.values()), state.balances
        # (c) positions are exactly the sum of filled fills; tokens are held only through positions.
        assert {p: pos.base_amount for p, pos in state.positions.items()} == {
            p: b for p, b in filled_base.items() if b
        }
        for pair, mint in TOKENS.items():
            assert state.balances.get(mint, 0) == filled_base[pair]
        assert all(pos.cost_quote >= 0 and pos.base_amount > 0 for pos in state.positions.values())
        # Reservations match exactly the orders still open.
        assert set(state.pending) == {o.id for o in open_orders}
        # (e) the JSON form round-trips exactly.
        d = state.to_dict()
        back = rr.RiskState.from_dict(json.loads(json.dumps(d)))
        assert back == state and back.to_dict() == d
        if restore:
            state = back
    return state


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops_st, limits=limits_st())
def test_invariants_hold_and_fills_are_idempotent(ops: list[tuple[Any, ...]], limits: rr.RiskLimits) -> None:
    once = run(ops, limits, twice=False, restore=False)
    # (d) applying every fill twice (and restoring from JSON after every step) ends in the same state.
    twice = run(ops, limits, twice=True, restore=True)
    assert twice.to_dict() == once.to_dict()


def test_the_property_runner_is_not_vacuous() -> None:
    """A fixed sequence approves buys on every venue kind, fills, stops out and sells, under the checks."""
    limits = rr.RiskLimits(max_position_pct=1.0, max_slippage_bps=500)  # small enough for the curve
    ops: list[tuple[Any, ...]] = [
        ("signal", "SOL/USDC", 1, 1.0, 0.9),
        ("signal", "JUP/USDC", 1, 1.0, 0.9),
        ("signal", "BONK/SOL", 1, 1.0, 0.9),
        ("signal", "PUMP/SOL", 1, 1.0, 0.9),
        ("fill", 0, "filled", 0.0),
        ("fill", 0, "worse", 0.5),
        ("fill", 0, "filled", 0.0),
        ("fill", 0, "failed", 0.0),
        ("exit", "JUP/USDC", 0.9),
        ("signal", "BONK/SOL", -1, 1.0, 0.9),
        ("fill", 0, "filled", 0.0),
        ("fill", 0, "filled", 0.0),
    ]
    state = run(ops, limits, twice=False, restore=False)
    assert (state.decided, state.approved, state.rejected) == (5, 5, 0)  # the stop loss is not a signal
    assert set(state.positions) == {"SOL/USDC"} and state.pending == {}
    assert run(ops, limits, twice=True, restore=True).to_dict() == state.to_dict()


def test_the_property_runner_covers_a_split_buy() -> None:
    """A buy too large for one JUP/USDC pool's impact cap splits; the checks hold as its legs fill."""
    # 1 750 USDC of 17 500: 115 bps on the best pool alone (the opening SOL outside the total cap, which
    # would otherwise bind first)
    limits = rr.RiskLimits(max_position_pct=10.0, opening_inventory="drawdown")
    ops: list[tuple[Any, ...]] = [
        ("signal", "JUP/USDC", 1, 1.0, 0.9),
        ("fill", 0, "filled", 0.0),
        ("fill", 0, "failed", 0.0),
        ("fill", 0, "worse", 0.5),
        ("signal", "JUP/USDC", -1, 1.0, 0.9),
        ("fill", 0, "filled", 0.0),
    ]
    legs = rr.decide_all(
        fresh(limits), signal("JUP/USDC", 1.0).derive(pools=pools_for("JUP/USDC", 1.0)), limits, 0
    )
    assert len(legs) > 1 and all(isinstance(o, Order) for o in legs)
    state = run(ops, limits, twice=False, restore=False)
    assert (state.decided, state.approved, state.rejected) == (2, 2, 0)
    assert state.positions == {} and state.pending == {}
    assert run(ops, limits, twice=True, restore=True).to_dict() == state.to_dict()
