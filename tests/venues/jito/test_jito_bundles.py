"""Orders sent as Jito bundles through the life cycle, against a local block engine with a rate limit:
every order's requests stay under the shared limit, a 429 never trips the venue's breaker, and a bundle
the engine failed ends its order at once (not at the blockhash's expiry)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair

from chain.local import LocalChain
from chain.rpc import RpcClient
from sandbox.http import serve
from sandbox.jito import SandboxJito
from sandbox.jupiter import SandboxJupiter
from sandbox.rpc import SandboxRpc
from tests.venues.jupiter.test_jupiter_build import SOL, STATE, USDC, order
from venues.fees import PriorityFeePolicy
from venues.jito.execution import JitoClient
from venues.jupiter.config import JupiterConfig
from venues.jupiter.execution import JupiterVenue
from venues.lifecycle import CONFIRMED, FAILED, LifecycleConfig, OrderLifecycle


@dataclass
class Recording:
    """A fixed fee source that remembers every landing outcome it was told."""

    outcomes: list[bool] = field(default_factory=list)

    async def priority(self, body: Sequence[Instruction], kind: str) -> PriorityFeePolicy:
        return PriorityFeePolicy(10_000)

    async def tip(self, kind: str) -> int:
        return 10_000

    def observe_landing(self, landed: bool) -> None:
        self.outcomes.append(landed)


@dataclass
class Bundles:
    rpc: SandboxRpc
    jito: SandboxJito
    venue: JupiterVenue
    fees: Recording
    jito_client: JitoClient


@pytest.fixture
async def bundles(request: pytest.FixtureRequest) -> AsyncIterator[Bundles]:
    options = getattr(request, "param", {})
    wallet = Keypair()
    chain = LocalChain({SOL: 9, USDC: 6}, wallet)
    chain.fund_wallet({SOL: 10**13, USDC: 10**12})
    rpc = SandboxRpc(chain, slot_s=0.02, window=5_000)  # a blockhash lives 100 s: expiry never decides here
    jupiter = SandboxJupiter(rpc, wallet.pubkey(), [STATE])
    jito = SandboxJito(rpc, **options.get("engine", {}))
    runners = []
    for routes in ([("POST", "/", rpc.handle)], jupiter.routes(), [("POST", "/api/v1/bundles", jito.handle)]):
        runner, url = await serve(routes)
        runners.append((runner, url))
    http = httpx.AsyncClient(timeout=5.0)
    rpc_client = RpcClient(runners[0][1], client=http)
    jito_client = JitoClient(
        f"{runners[2][1]}/api/v1/bundles", client=http, requests_per_s=options.get("rate", 4.0)
    )
    fees = Recording()
    venue = JupiterVenue(
        rpc_client,
        wallet,
        JupiterConfig(url=f"{runners[1][1]}/swap/v1", use_jito=True),
        fees=fees,
        jito=jito_client,
        client=http,
        bundle_poll_s=0.1,
    )
    try:
        yield Bundles(rpc, jito, venue, fees, jito_client)
    finally:
        await http.aclose()
        for runner, _ in runners:
            await runner.cleanup()


def _config(**overrides: float) -> LifecycleConfig:
    base = dict(
        poll_interval_s=0.05,
        resend_interval_s=0.3,
        backoff_base_s=0.01,
        backoff_max_s=0.2,
        breaker_failures=2,
        breaker_cooldown_s=5.0,
    )
    base.update(overrides)
    return LifecycleConfig(**base)  # type: ignore[arg-type]


# The client spaces requests 0.4 s apart against an engine that refuses two within 0.2 s: the margin is for
# arrival jitter on a busy machine (at 0.25 s spacing two requests once arrived 0.164 s apart).
@pytest.mark.parametrize("bundles", [{"engine": {"min_gap_s": 0.2}, "rate": 2.5}], indirect=True)
async def test_concurrent_orders_share_one_request_budget_under_the_limit(
    bundles: Bundles, venue_db: asyncpg.Pool
) -> None:
    lifecycle = OrderLifecycle(venue_db, bundles.venue, _config())
    orders = [order(i, "buy" if i % 2 == 0 else "sell") for i in range(8)]
    outcomes = await asyncio.wait_for(asyncio.gather(*(lifecycle.run(o) for o in orders)), 60)
    assert [o.status for o in outcomes] == [CONFIRMED] * len(orders)
    times = bundles.jito.times
    assert bundles.jito.methods.count("sendBundle") >= len(orders)
    # Counted at the server: never two requests closer than the limit allows, never a 429.
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.2 and bundles.jito.rate_limited == 0
    per_second = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert per_second <= 4  # 2.5/s, with one on each of the window's edges
    assert max(bundles.rpc.executed_memos.values()) == 1 and len(bundles.rpc.executed_memos) == len(orders)
    assert bundles.fees.outcomes == [True] * len(orders)


@pytest.mark.parametrize("bundles", [{"engine": {"throttle_first": 6}, "rate": 50.0}], indirect=True)
async def test_a_429_backs_off_without_tripping_the_breaker(bundles: Bundles, venue_db: asyncpg.Pool) -> None:
    lifecycle = OrderLifecycle(venue_db, bundles.venue, _config())
    orders = [order(i) for i in range(3)]
    outcomes = await asyncio.wait_for(asyncio.gather(*(lifecycle.run(o) for o in orders)), 60)
    assert [o.status for o in outcomes] == [CONFIRMED] * 3
    assert bundles.jito.rate_limited == 6 and bundles.jito_client.rate_limited == 6
    assert lifecycle.breaker.times_opened == 0  # two failures would have opened it for 5 s


@pytest.mark.parametrize("bundles", [{"engine": {"outcome": "fail"}, "rate": 50.0}], indirect=True)
async def test_a_failed_bundle_ends_its_order_at_once(bundles: Bundles, venue_db: asyncpg.Pool) -> None:
    lifecycle = OrderLifecycle(venue_db, bundles.venue, _config())
    started = time.monotonic()
    outcome = await asyncio.wait_for(lifecycle.run(order(1)), 30)
    elapsed = time.monotonic() - started
    assert outcome.status == FAILED and outcome.reason == "relay: bundle failed, not forwarded"
    assert elapsed < 5.0  # the blockhash would have lived 100 s
    assert "getInflightBundleStatuses" in bundles.jito.methods
    assert bundles.rpc.landed == {} and bundles.fees.outcomes == [False]
    async with venue_db.acquire() as conn:
        states = [r["state"] for r in await conn.fetch("SELECT state FROM order_txs")]
    assert states == ["failed"]
