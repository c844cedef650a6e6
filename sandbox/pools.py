"""The sandbox's constant-product pools: after a swap through a pool's vaults lands, the pool's program
logs it as Raydium AMM v4 does (`Program log: ray_log: <base64>`, a SwapBaseIn: log type 3 then seven
u64, reserves before the swap; raydium-io/raydium-amm, program/src/log.rs), so the chain collector's
registry decoders read it unchanged, and the pool's reserves follow what the vaults hold."""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

from chain.local import LocalChain
from sandbox.history import Snapshot
from streams.records import PoolState
from venues.raydium.schemas import COIN_TO_PC, PC_TO_COIN, PROGRAM_ID, RAY_LOG_PREFIX, SwapBaseIn

SWAP_BASE_IN_LOG_TYPE = 3


def ray_log_line(swap: SwapBaseIn) -> str:
    """A SwapBaseIn as the program logs it."""
    data = struct.pack(
        "<BQQQQQQQ",
        SWAP_BASE_IN_LOG_TYPE,
        swap.amount_in,
        swap.minimum_out,
        swap.direction,
        swap.user_source,
        swap.pool_coin,
        swap.pool_pc,
        swap.out_amount,
    )
    return f"Program log: {RAY_LOG_PREFIX}{base64.b64encode(data).decode()}"


@dataclass(frozen=True, slots=True)
class SwapMoves:
    """A pool's vaults around one swap: coin (base) and pc (quote) balances before, and their changes."""

    coin_before: int
    coin_delta: int
    pc_before: int
    pc_delta: int


class RaydiumPools:
    """The pools' program side: a log hook for `SandboxRpc.log_hooks` that writes each landed swap's
    `ray_log` and moves the pool's reserves to its vaults' balances."""

    def __init__(self, chain: LocalChain, pools: dict[str, PoolState]) -> None:
        self.chain = chain
        self.pools = pools  # pool address -> its state (updated after every swap)
        self.program = PROGRAM_ID

    def add(self, state: PoolState) -> None:
        """A pool, its vaults created on the chain (funded to its reserves) on first use."""
        self.chain.ensure_pool(state)
        self.pools[state.pool] = state

    def __call__(self, keys: list[Pubkey], pre: Snapshot, post: Snapshot) -> tuple[list[str], list[str]]:
        """(log lines, extra mentioned keys) for the swaps in one landed transaction. A transaction that
        called the AMM program itself (`sandbox.raydium`) was logged by it."""
        if Pubkey.from_string(self.program) in keys:
            return [], []
        lines: list[str] = []
        for pool, state in list(self.pools.items()):
            found = self._vault_moves(pool, state, keys, pre, post)
            if found is None:
                continue
            (coin_before, coin_delta), (pc_before, pc_delta) = found
            logged = self.record(pool, SwapMoves(coin_before, coin_delta, pc_before, pc_delta))
            if logged:
                lines += [f"Program {self.program} invoke [1]", *logged, f"Program {self.program} success"]
        return lines, [self.program] if lines else []

    def record(self, pool: str, moves: SwapMoves) -> list[str]:
        """The `ray_log` line of one swap through `pool`'s vaults, and the pool's reserves moved to the
        vaults'; nothing if the moves are not a swap (both vaults must move, opposite ways)."""
        state = self.pools[pool]
        m = moves
        if m.coin_delta > 0 and m.pc_delta < 0:
            swap = SwapBaseIn(
                m.coin_delta, 0, COIN_TO_PC, m.coin_delta, m.coin_before, m.pc_before, -m.pc_delta
            )
        elif m.pc_delta > 0 and m.coin_delta < 0:
            swap = SwapBaseIn(
                m.pc_delta, 0, PC_TO_COIN, m.pc_delta, m.coin_before, m.pc_before, -m.coin_delta
            )
        else:
            return []
        moved = {"base_reserve": m.coin_before + m.coin_delta, "quote_reserve": m.pc_before + m.pc_delta}
        self.pools[pool] = PoolState(**{**state.asdict(), **moved})
        return [ray_log_line(swap)]

    def _vault_moves(
        self, pool: str, state: PoolState, keys: list[Pubkey], pre: Snapshot, post: Snapshot
    ) -> tuple[tuple[int, int], tuple[int, int]] | None:
        out = []
        for mint in (state.base_mint, state.quote_mint):
            vault = self.chain.vault(pool, mint)
            if vault not in keys:
                return None
            index = keys.index(vault)
            before = _amount(pre, index)
            out.append((before, _amount(post, index) - before))
        return out[0], out[1]


def _amount(snap: Snapshot, index: int) -> int:
    for entry in snap.tokens:
        if entry["accountIndex"] == index:
            return int(entry["uiTokenAmount"]["amount"])
    return 0
