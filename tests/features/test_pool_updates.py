"""A followed pool's account state (raw.pools, keyed by the pair its swaps name) reaches the features: it
replaces what the pool's last swap said when it is as recent, so the next snapshot prices the pool as the
chain holds it (a deposit no swap showed); older, unknown or reserve-less states change nothing, and a
state that contradicts the pair's swaps is a dead letter."""

from __future__ import annotations

from backtest.memory_tables import feature_tables
from backtest.recording import RecordedMessage as Message
from features.folding import FeatureFolder, ProgressMarks, fold_batch
from market.simulator import MarketSimulator
from streams.codec import encode
from streams.records import PoolState, Swap

T0 = 1_700_000_000_000
PAIR = b"SOL/USDC"


def sol_swaps(n: int) -> list[Swap]:
    sim = MarketSimulator(seed=5, pairs=("SOL/USDC",), rate_eps=200.0, start_ms=T0, launches=False)
    return [e for e, _ in zip((e for e in sim.events() if isinstance(e, Swap)), range(n), strict=False)]


def after(swap: Swap, **changes: object) -> PoolState:
    """The pool's account as read after `swap` (same slot unless changed), with `changes`."""
    state = PoolState(
        venue=swap.venue, pool=swap.pool, base_mint=swap.base_mint, quote_mint=swap.quote_mint,
        base_decimals=swap.base_decimals, quote_decimals=swap.quote_decimals,
        base_reserve=swap.base_reserve, quote_reserve=swap.quote_reserve, fee_bps=swap.fee_bps,
        ts_ms=swap.ts_ms, slot=swap.slot, received_ms=swap.ts_ms,
    )  # fmt: skip
    return PoolState(**{**state.asdict(), **changes})


def swap_messages(swaps: list[Swap]) -> list[Message]:
    return [Message("raw.swaps", 0, i, PAIR, encode(s), s.ts_ms / 1000) for i, s in enumerate(swaps)]


def update(offset: int, state: PoolState, key: bytes = PAIR, partition: int = 0) -> Message:
    return Message("raw.pools", partition, offset, key, encode(state), state.ts_ms / 1000)


def test_a_followed_pool_s_state_replaces_its_last_swap_s_and_reaches_the_next_snapshot() -> None:
    swaps = sol_swaps(2_000)
    messages = swap_messages(swaps)
    first = swaps[0]
    # A swap of the other pool that opens a new second (so it takes a snapshot), after some of the first's.
    j = next(
        i
        for i in range(100, len(swaps))
        if swaps[i].pool != first.pool and swaps[i].ts_ms // 1000 > swaps[i - 1].ts_ms // 1000
    )
    last = max((s for s in swaps[:j] if s.pool == first.pool), key=lambda s: s.slot)
    # The first pool's account a slot after its last swap: a deposit doubled its reserves.
    deposit = after(last, base_reserve=2 * last.base_reserve, quote_reserve=2 * last.quote_reserve,
                    slot=last.slot + 1, ts_ms=swaps[j - 1].ts_ms)  # fmt: skip
    folder = FeatureFolder(snapshot_interval_ms=1000, **feature_tables())  # type: ignore[arg-type]
    marks = ProgressMarks(step_ms=20)
    batch = fold_batch(folder, marks, [*messages[:j], update(0, deposit)], skew_ms=5_000)
    assert batch.dead == []
    held = folder.states.get("SOL/USDC")
    assert held is not None
    pool = held.pools[first.pool]
    assert (pool["base_reserve"], pool["quote_reserve"], pool["slot"]) == (
        deposit.base_reserve, deposit.quote_reserve, deposit.slot,
    )  # fmt: skip
    # The next snapshot prices the first pool as the chain holds it, until its own next swap.
    [snap] = fold_batch(folder, marks, [messages[j]], skew_ms=5_000).snapshots
    assert {p.pool: p.base_reserve for p in snap.pools}[first.pool] == deposit.base_reserve


def test_older_unknown_and_reserve_less_states_change_nothing_and_contradictions_are_dead_letters() -> None:
    swaps = sol_swaps(200)
    messages = swap_messages(swaps)
    last = swaps[-1]
    folder = FeatureFolder(snapshot_interval_ms=1000, **feature_tables())  # type: ignore[arg-type]
    fold_batch(folder, ProgressMarks(step_ms=20), messages, skew_ms=5_000)
    held = folder.states.get("SOL/USDC")
    assert held is not None
    before = dict(held.pools[last.pool])
    states = [
        update(0, after(last, base_reserve=1, slot=last.slot - 1)),  # older than the pool's last swap
        update(1, after(last, pool="unknown-pool", base_reserve=1)),  # no swap of the pair named it
        update(2, after(last, base_reserve=0, quote_reserve=0, slot=last.slot + 1)),  # AmmInfo: no reserves
        update(3, after(last, base_reserve=1, slot=last.slot + 1), key=last.pool.encode()),  # pair unknown
        update(4, after(last, base_mint="another-mint", slot=last.slot + 1)),  # not the pool the swaps name
        update(5, after(last, base_reserve=-1, slot=last.slot + 1)),  # impossible
        update(6, after(last, slot=last.slot + 1), partition=1),  # not the pair's partition
    ]
    dead = fold_batch(folder, ProgressMarks(step_ms=20), states, skew_ms=5_000).dead
    assert [i for i, _ in dead] == [4, 5, 6], dead
    assert dead[0][1].startswith("pool:") and "negative" in dead[1][1] and dead[2][1].startswith("partition")
    held = folder.states.get("SOL/USDC")
    assert held is not None and held.pools[last.pool] == before and "unknown-pool" not in held.pools
