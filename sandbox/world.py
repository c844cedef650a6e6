"""The sandbox world: one LiteSVM chain, its RPC and PubSub servers, a Jupiter-shaped API routed over its
pools and a Jito-shaped block engine, on the mainnet clock (a slot every 400 ms, a blockhash valid for
150 blocks), started together and stopped together."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field

from aiohttp import web
from solders.keypair import Keypair
from spl.token.constants import TOKEN_2022_PROGRAM_ID

from chain.local import LocalChain
from market.simulator import MarketSimulator
from market.tokens import DECIMALS, JUP
from sandbox.faults import Faults
from sandbox.http import serve
from sandbox.jito import SandboxJito
from sandbox.jupiter import SandboxJupiter
from sandbox.pools import RaydiumPools
from sandbox.pubsub import PubSubServer
from sandbox.pump import SandboxPump
from sandbox.raydium import RaydiumAmm
from sandbox.rpc import SandboxRpc
from sandbox.traders import SimulatedTraders, simulated_pools
from streams.records import PoolState

log = logging.getLogger(__name__)

SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
SIM_PAIRS = ("SOL/USDC", "JUP/USDC", "BONK/SOL")
MAINNET_SLOT_S = 0.4
MAINNET_BLOCKHASH_WINDOW = 150  # blocks a blockhash stays valid (MAX_PROCESSING_AGE, agave)


@dataclass(frozen=True)
class WorldConfig:
    """How a world is built; every field has the mainnet (or a safe local) default."""

    host: str = "127.0.0.1"
    port: int = 0  # HTTP (RPC, Jupiter, Jito); 0: a free port
    ws_port: int = 0  # PubSub; 0: a free port
    seed: int = 1  # the trader's key and the faults' RNG
    slot_s: float = MAINNET_SLOT_S
    window: int = MAINNET_BLOCKHASH_WINDOW
    jito_min_gap_s: float = 1.0  # the block engine's documented default: one request per second per IP
    faults: Faults = field(default_factory=Faults)
    traders: int = 0  # simulated traders replaying the simulated market on the pools (0: none)
    rate_eps: float = 20.0  # the simulated market's events per second (its volume does not depend on it)
    pairs: tuple[str, ...] = SIM_PAIRS  # the simulated market's pairs, each a Raydium and an Orca pool
    token_2022_mints: tuple[str, ...] = (JUP,)  # mints created under Token-2022 (on mainnet JUP is not)
    launches: bool = True  # with traders: replay the simulated market's Pump.fun launches and trades too
    launch_gap_s: tuple[float, float] | None = None  # seconds between launches (None: the simulator's)


def trader_keypair(seed: int) -> Keypair:
    """The sandbox's funded trader: derived from the seed, so a script can rebuild it."""
    return Keypair.from_seed(hashlib.sha256(f"solbot-sandbox:{seed}".encode()).digest())


def sol_usdc_pool() -> PoolState:
    """A SOL/USDC constant-product pool at 150 USDC per SOL (25 bps), the route Jupiter quotes."""
    return PoolState(
        venue="raydium",
        pool="sandbox-sol-usdc",
        base_mint=SOL,
        quote_mint=USDC,
        base_decimals=9,
        quote_decimals=6,
        base_reserve=10**15,
        quote_reserve=150 * 10**12,
        fee_bps=25,
    )


class World:
    """Everything `solbot sandbox` serves; `urls` once started."""

    def __init__(self, config: WorldConfig | None = None) -> None:
        self.config = config or WorldConfig()
        self.wallet = trader_keypair(self.config.seed)
        self.chain = LocalChain({SOL: 9, USDC: 6}, self.wallet)
        self.chain.fund_wallet({SOL: 100 * 10**9, USDC: 10_000 * 10**6})
        for mint in self.config.token_2022_mints:
            self.chain.add_token(mint, DECIMALS[mint], program=TOKEN_2022_PROGRAM_ID)
        self.rpc = SandboxRpc(
            self.chain, slot_s=self.config.slot_s, window=self.config.window, faults=self.config.faults
        )
        self.rpc.mainnet_mints = True  # token balances name So111…, EPjF…, as on mainnet
        self.pools = RaydiumPools(self.chain, {})
        self.rpc.log_hooks.append(self.pools)
        self.amm = RaydiumAmm(self.rpc, self.pools)
        # Pump.fun: the Global account and every launched curve; the wallet trades them with its native
        # SOL (LocalChain's 100 SOL airdrop), the coins landing in its associated token accounts.
        self.pump = SandboxPump(self.rpc)
        self.pump.register(self.wallet)
        market = self._simulator()
        for state in market.pools():  # the simulated market's pools, at their opening reserves
            self.amm.add_pool(state)
        # With traders, every route is a pool they move (the one the bot's collectors price); without,
        # SOL/USDC goes through a deep pool of its own, at a fixed 150 USDC.
        routes = [s for s in market.pools() if s.venue == "raydium"]
        if not self.config.traders:
            routes = [sol_usdc_pool()] + [s for s in routes if {s.base_mint, s.quote_mint} != {SOL, USDC}]
        self.jupiter = SandboxJupiter(self.rpc, self.wallet.pubkey(), routes, amm=self.pools)
        self.traders: SimulatedTraders | None = None
        self.jito = SandboxJito(self.rpc, min_gap_s=self.config.jito_min_gap_s)
        self.pubsub = PubSubServer(self.rpc)
        self.urls: dict[str, str] = {}
        self._runner: web.AppRunner | None = None

    async def start(self) -> dict[str, str]:
        """Listen; returns the environment a bot needs (the `KEYS` of `solbot sandbox`)."""
        routes = [("POST", "/", self.rpc.handle), *self.jupiter.routes(), *self.jito.routes()]
        self._runner, base = await serve(routes, host=self.config.host, port=self.config.port)
        ws = await self.pubsub.start(self.config.host, self.config.ws_port)
        self.urls = {
            "SOLANA_RPC_URL": base,
            "SOLANA_WS_URL": ws,
            "JUPITER_URL": base,
            "JITO_URL": f"{base}/api/v1/bundles",
        }
        log.info("sandbox trader %s", self.wallet.pubkey())
        if self.config.traders:
            # Started now, so the simulated market's clock is the wall clock from here on.
            self.traders = SimulatedTraders(
                self.rpc,
                self.amm,
                self._simulator(launches=self.config.launches),
                count=self.config.traders,
                seed=self.config.seed,
                pump=self.pump,
            )
            self.traders.start()
        return self.urls

    def _simulator(self, *, launches: bool = False) -> MarketSimulator:
        c = self.config
        return simulated_pools(
            c.seed,
            c.pairs,
            c.rate_eps,
            int(time.time() * 1000),
            launches=launches,
            launch_gap_s=c.launch_gap_s,
        )

    async def stop(self) -> None:
        if self.traders is not None:
            await self.traders.stop()
        await self.pubsub.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
