"""One harness per registered venue, built through the registry against local fakes (never a public endpoint).

Each case runs on exactly the registry entries that declare the capabilities it needs: `on_venues(...)`
parametrises the `entry` fixture with those entries (read from `venues.registry.REGISTRY` at collection,
so a new venue joins every case it declares, and nothing is skipped); a case without it runs once per
entry. `harness` builds that venue's execution venue with `venues.registry.build_venue`, on a LiteSVM
chain behind the RPC double of `sandbox/` (plus its Jupiter or Pump.fun double), and
says how the venue is driven: the in-transaction driver (`execute`) for the paper venue,
`venues.lifecycle.OrderLifecycle` (on the test's database) for the venues that send transactions. A venue
that declares `SPOT_SWAP` without a harness here fails, so a new venue cannot pass the suite by omission.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from solders.keypair import Keypair
from solders.transaction import VersionedTransaction

from chain.local import LocalChain
from chain.rpc import RpcClient
from core.settings import Settings, load_settings
from market.tokens import USDC, WSOL
from sandbox.faults import Faults
from sandbox.http import serve
from sandbox.jupiter import SandboxJupiter
from sandbox.pump import SandboxPump
from sandbox.rpc import SandboxRpc
from streams.records import Fill, Order, PoolState
from venues.interface import Settlement, Venue
from venues.jupiter.config import JupiterConfig
from venues.lifecycle import LifecycleConfig, OrderLifecycle
from venues.pumpfun.execution import bonding_curve_pda
from venues.registry import REGISTRY, Capability, VenueContext, VenueEntry, build_venue

Execute = Callable[[Order, Mapping[str, int], int], Awaitable[Fill]]
FAST = LifecycleConfig(poll_interval_s=0.01, backoff_base_s=0.01, backoff_max_s=0.05, max_call_retries=3)


def venues_with(*capabilities: Capability) -> list[str]:
    """The registry entries that declare every one of `capabilities`, in registry order."""
    return [name for name, entry in REGISTRY.items() if all(entry.has(c) for c in capabilities)]


def on_venues(*capabilities: Capability) -> pytest.MarkDecorator:
    """Run the decorated case once per registry entry declaring every one of `capabilities` (the `entry`
    fixture, and the `harness` built on it, take each in turn). A capability no entry declares is an
    error here rather than a case that silently runs on nothing."""
    names = venues_with(*capabilities)
    assert names, f"no venue declares {', '.join(map(str, capabilities))}"
    return pytest.mark.parametrize("entry", names, indirect=True, ids=str)


# The cases that execute orders: every venue with a spot swap (the `harness` fixture needs one).
SPOT_SWAP = on_venues(Capability.SPOT_SWAP)


@dataclass
class Harness:
    """A venue under test, how it is driven, and the chain its fills land on."""

    venue: Venue
    execute: Execute  # the venue's driver: its own `execute`, or a life cycle's
    chain: LocalChain
    pool: PoolState
    buy_amount: int  # raw quote
    sell_amount: int  # raw base
    faults: list[Faults]  # the fakes' fault dials (transient failures)

    def wallet(self) -> dict[str, int]:
        """A fresh snapshot of the chain's wallet, as the execution sink would hand it over."""
        return dict(self.chain.balances())

    def order(self, oid: str, side: str, amount_in: int, min_out: int = 0) -> Order:
        state = self.pool
        return Order(
            id=oid,
            signal_id=f"sig:{oid}",
            pair="TOKEN/QUOTE",
            side=side,
            amount_in=amount_in,
            min_amount_out=min_out,
            venue=state.venue,
            pool=state.pool,
            pool_state=state,
            kind="entry",
            reason="contract",
            ts_ms=1_000,
            origin_ms=1_000,
            decided_ms=1_000,
        )

    def fail_network(self) -> None:
        """From now on, every request to the venue's fakes answers HTTP 429 (a transient failure)."""
        for faults in self.faults:
            faults.rate_limit = 1.0


CP_POOL = PoolState(
    venue="raydium",
    pool="contract-pool",
    base_mint=WSOL,
    quote_mint=USDC,
    base_decimals=9,
    quote_decimals=6,
    base_reserve=10_000 * 10**9,
    quote_reserve=1_500_000 * 10**6,
    fee_bps=25,
)


async def _paper(stack: AsyncExitStack, settings: Settings, db: asyncpg.Pool | None) -> Harness:
    chain = LocalChain({WSOL: 9, USDC: 6})
    chain.fund_wallet({WSOL: 100 * 10**9, USDC: 10_000 * 10**6})
    venue = build_venue("paper", settings, VenueContext(chain=chain))
    return Harness(venue, venue.execute, chain, CP_POOL, 100 * 10**6, 10**9, [])


async def _served_rpc(stack: AsyncExitStack, rpc: SandboxRpc) -> tuple[RpcClient, httpx.AsyncClient]:
    runner, url = await serve([("POST", "/", rpc.handle)])
    stack.push_async_callback(runner.cleanup)
    http = httpx.AsyncClient(timeout=2.0)
    stack.push_async_callback(http.aclose)
    return RpcClient(url, client=http), http


def _driven(venue: Venue, db: asyncpg.Pool | None) -> Execute:
    if venue.settlement is Settlement.IN_TRANSACTION:
        return venue.execute
    assert db is not None, f"{venue.name} is driven by the life cycle: it needs a database"
    return OrderLifecycle(db, venue, FAST).execute


async def _jupiter(stack: AsyncExitStack, settings: Settings, db: asyncpg.Pool | None) -> Harness:
    wallet = Keypair()
    chain = LocalChain({WSOL: 9, USDC: 6}, wallet)
    chain.fund_wallet({WSOL: 100 * 10**9, USDC: 10_000 * 10**6})
    rpc = SandboxRpc(chain, slot_s=0.02, window=1_000)
    jupiter = SandboxJupiter(rpc, wallet.pubkey(), [CP_POOL])
    rpc_client, http = await _served_rpc(stack, rpc)
    runner, jup_url = await serve(jupiter.routes())
    stack.push_async_callback(runner.cleanup)
    context = VenueContext(
        rpc=rpc_client, keypair=wallet, http=http, jupiter=JupiterConfig(url=f"{jup_url}/swap/v1")
    )
    venue = build_venue("jupiter", settings, context)
    stack.push_async_callback(venue.close)
    return Harness(
        venue, _driven(venue, db), chain, CP_POOL, 100 * 10**6, 10**9, [rpc.faults, jupiter.faults]
    )


class NativeSolChain(LocalChain):
    """A chain whose wallet balances report SOL as native lamports plus the fees the wallet paid: Pump.fun
    moves lamports, not the chain's paper WSOL token, and a fill's flows do not include the fee."""

    def __init__(self, tokens: Mapping[str, int], wallet: Keypair) -> None:
        super().__init__(tokens, wallet)
        self.rpc: SandboxRpc | None = None

    def balances(self) -> dict[str, int]:
        held = {mint: amount for mint, amount in super().balances().items() if mint != WSOL}
        assert self.rpc is not None
        fees = sum(
            record.fee
            for record in self.rpc.history.values()
            if VersionedTransaction.from_bytes(record.raw).message.account_keys[0] == self.wallet
        )
        account = self.svm.get_account(self.wallet)
        held[WSOL] = (0 if account is None else account.lamports) + fees
        return held


async def _pumpfun(stack: AsyncExitStack, settings: Settings, db: asyncpg.Pool | None) -> Harness:
    wallet, mint = Keypair(), Keypair().pubkey()
    state = PoolState(
        venue="pumpfun",
        pool=str(bonding_curve_pda(mint)),
        base_mint=str(mint),
        quote_mint=WSOL,
        base_decimals=6,
        quote_decimals=9,
        base_reserve=1_073_000_000_000_000,
        quote_reserve=30_000_000_000,
        fee_bps=125,
        real_base_reserve=793_100_000_000_000,
    )
    chain = NativeSolChain({WSOL: 9}, wallet)  # the wallet holds 100 SOL natively (LocalChain's default)
    rpc = SandboxRpc(chain, slot_s=0.02, window=1_000)
    chain.rpc = rpc
    pump = SandboxPump(rpc)
    pump.register(wallet)
    pump.add_curve(str(mint), Keypair().pubkey())
    chain.fund_wallet({str(mint): 10**12})
    rpc_client, _http = await _served_rpc(stack, rpc)
    # No PumpFunConfig: the registry's, fee recipients read from the double's Global account.
    venue = build_venue("pumpfun", settings, VenueContext(rpc=rpc_client, keypair=wallet))
    return Harness(venue, _driven(venue, db), chain, state, 10**8, 10**10, [rpc.faults])


HarnessBuilder = Callable[[AsyncExitStack, Settings, "asyncpg.Pool | None"], Awaitable[Harness]]
# How each venue that executes orders is set up on local fakes (a venue declaring SPOT_SWAP needs one).
HARNESSES: dict[str, HarnessBuilder] = {"paper": _paper, "jupiter": _jupiter, "pumpfun": _pumpfun}


@pytest.fixture(params=list(REGISTRY), ids=str)
def entry(request: pytest.FixtureRequest) -> VenueEntry:
    return REGISTRY[request.param]


@pytest.fixture
def venue_settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path)


@pytest.fixture
def lifecycle_db(entry: VenueEntry, request: pytest.FixtureRequest) -> asyncpg.Pool | None:
    """A fresh database for venues that send transactions (their life cycle persists every step)."""
    if entry.has(Capability.SPOT_SWAP) and entry.has(Capability.NETWORK):
        pool: asyncpg.Pool = request.getfixturevalue("venue_db")
        return pool
    return None


@pytest.fixture
async def harness(
    entry: VenueEntry, venue_settings: Settings, lifecycle_db: asyncpg.Pool | None
) -> AsyncIterator[Harness]:
    assert entry.has(Capability.SPOT_SWAP), f"{entry.name} executes no orders: mark the case @SPOT_SWAP"
    builder = HARNESSES.get(entry.name)
    assert builder is not None, f"{entry.name} executes orders: give it a harness in {__file__}"
    async with AsyncExitStack() as stack:
        yield await builder(stack, venue_settings, lifecycle_db)
