"""The simulated market, traded on the sandbox's chain: `market.simulator`'s traders send real swaps.

Each pool of the simulator (a Raydium and an Orca pool per pair) is a sandbox AMM v4 pool at the same
address and reserves (`sandbox.raydium`). The simulator's swap events are replayed in wall-clock time
(its rhythm: exponential gaps at `rate_eps`, sizes that keep each pair's volume per second independent
of the rate): the event's side and input amount become a `swapBaseIn` signed by one of `count` trader
keys the sandbox funded, executed through the RPC server as any sent transaction is. Both sides use the
same integer maths (`market.amm`), so as long as every swap lands the chain's reserves equal the
simulator's after every event.

With `launches` (the world's default), the simulator's Pump.fun launches are replayed too, on
`sandbox.pump`: each `Launch` lands a `create` signed by a trader, and each trade on a coin becomes that
trader's legacy `buy` (the event's exact token amount, `max_sol_cost` generous) or `sell` (its token
amount, `min_sol_output` 0), so the curve on the chain equals the simulator's after every event (the
double prices a buy of exact tokens; the simulator bought for SOL: the two agree to the lamport unless
the tokens' price is a whole number of lamports, where the double's `+ 1` adds one, and on the buy
that completes a curve, where the simulator spends its whole SOL on the last tokens). One trader sends
all of a coin's trades, so the seller always holds what the simulator sells. Trades by others (the bot's
wallet) move the chain's curves and pools away from the simulator's, as on mainnet.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from chain.local import memo_ix
from core.errors import ConfigError, ServiceError
from market.simulator import LAUNCH_GAP_S, PUMPFUN, MarketSimulator
from sandbox.pump import SandboxPump
from sandbox.raydium import RaydiumAmm
from sandbox.rpc import SandboxRpc
from streams.records import Launch, PoolState, Swap
from venues.pumpfun.instructions import Coin, TradeAccounts, buy_instruction, sell_instruction

log = logging.getLogger(__name__)

RECENT = 10_000
FUNDING_MULTIPLE = 4  # each trader starts with this many times every pool's reserves of each mint
RESIGNS = 2  # a transaction dropped for its blockhash is signed again (the replay must not lose a trade)
TRADER_LAMPORTS = 1_000 * 10**9  # each trader's native SOL (fees, Pump.fun buys), topped up when low


@dataclass
class TraderStats:
    sent: int = 0  # swaps sent to the chain
    landed: int = 0  # swaps that executed
    failed: int = 0  # landed with an error, or not landed
    skipped: int = 0  # simulator events the chain does not replay (a pool or curve it does not know)
    launches: int = 0  # Pump.fun launches landed


def trader_keys(seed: int, count: int) -> list[Keypair]:
    """The traders' keys, derived from the world's seed (a script can rebuild them)."""
    return [
        Keypair.from_seed(hashlib.sha256(f"solbot-sandbox-trader:{seed}:{i}".encode()).digest())
        for i in range(count)
    ]


def simulated_pools(
    seed: int,
    pairs: Sequence[str],
    rate_eps: float,
    start_ms: int,
    *,
    launches: bool = False,
    launch_gap_s: tuple[float, float] | None = None,
) -> MarketSimulator:
    """The simulator the traders follow: its AMM pools, and its Pump.fun launches with `launches`."""
    return MarketSimulator(
        seed=seed,
        pairs=pairs,
        rate_eps=rate_eps,
        start_ms=start_ms,
        launches=launches,
        launch_gap_s=LAUNCH_GAP_S if launch_gap_s is None else launch_gap_s,
    )


class SimulatedTraders:
    """`count` funded traders replaying `sim`'s swaps on `amm`'s pools, in real time, once started."""

    def __init__(
        self,
        rpc: SandboxRpc,
        amm: RaydiumAmm,
        sim: MarketSimulator,
        *,
        count: int,
        seed: int,
        pump: SandboxPump | None = None,
    ) -> None:
        if count < 1:
            raise ConfigError("the sandbox needs at least one trader to trade")
        if sim.launches and pump is None:
            raise ConfigError("replaying the simulator's launches needs the sandbox's Pump.fun double")
        self.rpc, self.amm, self.sim, self.pump = rpc, amm, sim, pump
        self.launched: dict[str, Launch] = {}  # mint -> its launch, once landed
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
            if pump is not None:
                pump.register(key)
            self._airdrop(key.pubkey(), TRADER_LAMPORTS)
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
            if isinstance(event, Launch):
                self.launch(event)
            elif event.venue == PUMPFUN and event.base_mint in self.launched:
                self.trade_curve(event, n)
            elif event.pool in self.pools:
                self.trade(event, self.keys[n % len(self.keys)], n)
            else:
                self.stats.skipped += 1

    def coin_trader(self, mint: str) -> Keypair:
        """The trader who sends every trade of `mint` (and its launch)."""
        return self.keys[
            int.from_bytes(hashlib.sha256(mint.encode()).digest()[:4], "little") % len(self.keys)
        ]

    def launch(self, event: Launch) -> str:
        """Land the launch's `create` as its coin's trader; its signature."""
        assert self.pump is not None
        signature = self.pump.launch(event, self.coin_trader(event.mint))
        for _ in range(RESIGNS):
            if signature not in self.rpc.landed:  # dropped: its blockhash expired just before it ran
                signature = self.pump.launch(event, self.coin_trader(event.mint))
        if self._landed(signature, "launch"):
            self.launched[event.mint] = event
            self.stats.launches += 1
        return signature

    def trade_curve(self, event: Swap, n: int) -> str:
        """Send one simulated Pump.fun trade as the coin trader's legacy buy or sell; its signature."""
        assert self.pump is not None
        trader = self.coin_trader(event.base_mint)
        mint = Pubkey.from_string(event.base_mint)
        launch = self.launched[event.base_mint]
        accounts = TradeAccounts(
            Coin(mint, Pubkey.from_string(launch.creator)), trader.pubkey(), self.pump.recipients
        )
        if event.side == "buy":
            max_cost = 2 * event.quote_amount + 10**9  # generous: the amount is what the simulator paid
            self._top_up(trader, max_cost)
            ix = buy_instruction(accounts, event.base_amount, max_cost)
        else:
            ix = sell_instruction(accounts, event.base_amount, 0)
        return self._send(trader, [ix, memo_ix(f"sim {n}")])

    def _top_up(self, trader: Keypair, need: int) -> None:
        """Keep a trader's lamports above what its next buy may cost (coins keep the SOL they took)."""
        held = self.rpc.svm.get_account(trader.pubkey())
        if held is None or held.lamports < need + 10**9:
            self._airdrop(trader.pubkey(), TRADER_LAMPORTS)

    def _airdrop(self, who: Pubkey, lamports: int) -> None:
        if isinstance(self.rpc.svm.airdrop(who, lamports), FailedTransactionMetadata):
            raise ServiceError(f"sandbox: airdrop to trader {who} failed")

    def trade(self, event: Swap, trader: Keypair, n: int) -> str:
        """Send one simulator swap as `trader`'s transaction; its signature."""
        buy = event.side == "buy"
        amount_in = event.quote_amount if buy else event.base_amount
        ix = self.amm.swap_ix(event.pool, trader.pubkey(), buy=buy, amount_in=amount_in, minimum_out=0)
        return self._send(trader, [ix, memo_ix(f"sim {n}")])

    def _send(self, trader: Keypair, ixs: list[Instruction]) -> str:
        """Sign and execute one trader transaction through the RPC server, counted; its signature."""
        for _ in range(1 + RESIGNS):
            self.rpc.height()  # rotates the blockhash when its window ended
            message = MessageV0.try_compile(trader.pubkey(), ixs, [], self.rpc.svm.latest_blockhash())
            signature = self.rpc.execute(bytes(VersionedTransaction(message, [trader])))
            if signature in self.rpc.landed:  # else dropped: the window ended between signing and running
                break
        self.stats.sent += 1
        if self._landed(signature, "swap"):
            self.stats.landed += 1
            self.recent.append(signature)
        else:
            self.stats.failed += 1
        return signature

    def _landed(self, signature: str, what: str) -> bool:
        landed = self.rpc.landed.get(signature)
        if landed is not None and landed[1] is None:
            return True
        log.warning("sandbox trader %s %s did not land cleanly: %s", what, signature, landed)
        return False
