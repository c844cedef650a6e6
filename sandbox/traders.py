"""The simulated market, traded on the sandbox's chain: `market.simulator`'s traders send real swaps.

Each pool of the simulator (a Raydium and an Orca pool per pair) is a sandbox AMM v4 pool at the same
address and reserves (`sandbox.raydium`). The simulator's swap events are replayed in wall-clock time
(its rhythm: exponential gaps at `rate_eps`, sizes that keep each pair's volume per second independent
of the rate): the event's side and input amount become a `swapBaseIn` signed by one of `count` trader
keys the sandbox funded, executed through the RPC server as any sent transaction is. Both sides use the
same integer maths (`market.amm`), so as long as every swap lands the chain's reserves equal the
simulator's after every event. Its Pump.fun launches are not replayed (the simulator runs without them).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from solders.keypair import Keypair
from solders.message import MessageV0
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from chain.local import memo_ix
from core.errors import ConfigError, ServiceError
from market.simulator import MarketSimulator
from sandbox.raydium import RaydiumAmm
from sandbox.rpc import SandboxRpc
from streams.records import PoolState, Swap

log = logging.getLogger(__name__)

RECENT = 10_000
FUNDING_MULTIPLE = 4  # each trader starts with this many times every pool's reserves of each mint


@dataclass
class TraderStats:
    sent: int = 0  # swaps sent to the chain
    landed: int = 0  # swaps that executed
    failed: int = 0  # landed with an error, or not landed
    skipped: int = 0  # simulator events that are no AMM swap (none while launches are off)


def trader_keys(seed: int, count: int) -> list[Keypair]:
    """The traders' keys, derived from the world's seed (a script can rebuild them)."""
    return [
        Keypair.from_seed(hashlib.sha256(f"solbot-sandbox-trader:{seed}:{i}".encode()).digest())
        for i in range(count)
    ]


def simulated_pools(seed: int, pairs: Sequence[str], rate_eps: float, start_ms: int) -> MarketSimulator:
    """The simulator the traders follow (no launches: the AMM pools only)."""
    return MarketSimulator(seed=seed, pairs=pairs, rate_eps=rate_eps, start_ms=start_ms, launches=False)


class SimulatedTraders:
    """`count` funded traders replaying `sim`'s swaps on `amm`'s pools, in real time, once started."""

    def __init__(
        self, rpc: SandboxRpc, amm: RaydiumAmm, sim: MarketSimulator, *, count: int, seed: int
    ) -> None:
        if count < 1:
            raise ConfigError("the sandbox needs at least one trader to trade")
        self.rpc, self.amm, self.sim = rpc, amm, sim
        self.keys = trader_keys(seed, count)
        self.stats = TraderStats()
        self.recent: deque[str] = deque(maxlen=RECENT)  # the last landed swaps' signatures, oldest first
        self.pools: dict[str, PoolState] = {}
        self._task: asyncio.Task[None] | None = None
        for state in sim.pools():
            self.pools[state.pool] = state
        funding: dict[str, int] = {}
        for state in self.pools.values():
            funding[state.base_mint] = funding.get(state.base_mint, 0) + state.base_reserve
            funding[state.quote_mint] = funding.get(state.quote_mint, 0) + state.quote_reserve
        for key in self.keys:
            amm.register(key)
            if isinstance(rpc.svm.airdrop(key.pubkey(), 1_000 * 10**9), FailedTransactionMetadata):
                raise ServiceError(f"sandbox: airdrop to trader {key.pubkey()} failed")
            for mint, amount in sorted(funding.items()):
                rpc.chain.open_account(key.pubkey(), mint, amount * FUNDING_MULTIPLE)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="sandbox-traders")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def run(self) -> None:
        """Replay the simulator's events as their times come (the simulator starts at its `start_ms`)."""
        for n, event in enumerate(self.sim.events()):
            wait_ms = event.ts_ms - int(time.time() * 1000)
            if wait_ms > 0:
                await asyncio.sleep(wait_ms / 1000)
            if not isinstance(event, Swap) or event.pool not in self.pools:
                self.stats.skipped += 1
                continue
            self.trade(event, self.keys[n % len(self.keys)], n)

    def trade(self, event: Swap, trader: Keypair, n: int) -> str:
        """Send one simulator swap as `trader`'s transaction; its signature."""
        buy = event.side == "buy"
        amount_in = event.quote_amount if buy else event.base_amount
        ix = self.amm.swap_ix(event.pool, trader.pubkey(), buy=buy, amount_in=amount_in, minimum_out=0)
        self.rpc.height()  # rotates the blockhash when its window ended
        message = MessageV0.try_compile(
            trader.pubkey(), [ix, memo_ix(f"sim {n}")], [], self.rpc.svm.latest_blockhash()
        )
        tx = VersionedTransaction(message, [trader])
        signature = self.rpc.execute(bytes(tx))
        self.stats.sent += 1
        landed = self.rpc.landed.get(signature)
        if landed is not None and landed[1] is None:
            self.stats.landed += 1
            self.recent.append(signature)
        else:
            self.stats.failed += 1
            log.warning("sandbox trader swap %s did not land cleanly: %s", signature, landed)
        return signature
