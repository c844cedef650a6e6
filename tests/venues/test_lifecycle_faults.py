"""Orders through injected faults on local Jupiter / RPC (LiteSVM) / Jito servers: never a double fill."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections import Counter
from collections.abc import Mapping
from typing import Any

import asyncpg
import httpx
import pytest
from solders.keypair import Keypair

from chain.local import LocalChain
from chain.rpc import RpcClient
from sandbox.faults import Faults
from sandbox.http import serve
from sandbox.jito import SandboxJito
from sandbox.jupiter import SandboxJupiter
from sandbox.rpc import SandboxRpc
from sandbox.world import SOL, USDC, sol_usdc_pool
from streams.records import Order
from venues.interface import PreparedTx, RelayVerdict
from venues.jito.execution import JitoClient
from venues.jupiter.config import JupiterConfig
from venues.jupiter.execution import JupiterVenue
from venues.lifecycle import TERMINAL, LifecycleConfig, OrderLifecycle

STATE = sol_usdc_pool()  # the sandbox's SOL/USDC pool, the route its Jupiter quotes
# The 1,000 orders: ~70 s on 2 cores since status polls are batched (SOLBOT_FAULT_ORDERS=150 for a
# quick local run).
N_ORDERS = int(os.environ.get("SOLBOT_FAULT_ORDERS", "1000"))


class Crash(BaseException):
    """A worker dying between storing the signed transaction and sending it."""


def order(i: int) -> Order:
    side = "buy" if i % 2 == 0 else "sell"
    amount = 1_000_000 + i if side == "buy" else 10_000_000 + i
    return Order(
        id=f"ord:{i}",
        signal_id=f"sig:{i}",
        pair="SOL/USDC",
        side=side,
        amount_in=amount,
        min_amount_out=0,
        venue="raydium",
        pool=STATE.pool,
        pool_state=STATE,
        kind="entry",
        reason="t",
        ts_ms=i,
        origin_ms=i,
        decided_ms=i,
    )


class CrashingVenue:
    """Wraps a venue; its first broadcast for chosen orders dies before anything reaches the server."""

    def __init__(self, inner: JupiterVenue, crash_ids: set[str]) -> None:
        self.inner, self.name, self.rpc, self.crash_ids = inner, inner.name, inner.rpc, crash_ids
        self.current: dict[str, str] = {}

    async def prepare(self, o: Order, wallet: Mapping[str, int]) -> Any:
        prepared = await self.inner.prepare(o, wallet)
        if isinstance(prepared, PreparedTx):
            self.current[prepared.raw_base64] = o.id
        return prepared

    def _crash(self, raw: str) -> None:
        oid = self.current.get(raw, "")
        if oid in self.crash_ids:
            self.crash_ids.discard(oid)
            raise Crash(oid)

    def address(self) -> Any:
        """The wallet the life cycle searches for an order's memo before a re-sign."""
        return self.inner.address()

    async def broadcast(self, raw: str) -> None:
        self._crash(raw)
        await self.inner.broadcast(raw)

    async def rebroadcast(self, raw: str) -> None:
        self._crash(raw)
        await self.inner.rebroadcast(raw)

    async def relay_verdict(self, signature: str) -> RelayVerdict:
        return await self.inner.relay_verdict(signature)

    def observe_landing(self, landed: bool) -> None:
        self.inner.observe_landing(landed)


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_thousand_orders_through_faults_never_double_fill(venue_db: asyncpg.Pool) -> None:
    wallet = Keypair()
    chain = LocalChain({SOL: 9, USDC: 6}, wallet)
    chain.fund_wallet({SOL: 10**13, USDC: 10**12})
    rpc_faults = Faults(timeout=0.02, rate_limit=0.05, blockhash_not_found=0.05, drop=0.1, seed=1)
    rpc = SandboxRpc(chain, slot_s=0.02, window=100, faults=rpc_faults)
    jup_faults = Faults(timeout=0.01, rate_limit=0.05, seed=2)
    jupiter = SandboxJupiter(rpc, wallet.pubkey(), [STATE], jup_faults)
    jito = SandboxJito(rpc)
    rpc.hang_s = jupiter.hang_s = 0.6
    runners = []
    runner, rpc_url = await serve([("POST", "/", rpc.handle)])
    runners.append(runner)
    runner, jup_url = await serve(jupiter.routes())
    runners.append(runner)
    runner, jito_url = await serve([("POST", "/api/v1/bundles", jito.handle)])
    runners.append(runner)
    before = chain.balances()
    http = httpx.AsyncClient(timeout=0.3, limits=httpx.Limits(max_connections=200))
    try:
        rpc_client = RpcClient(rpc_url, client=http)
        # This double has no rate limit; the shared budget is tested in tests/venues/jito/.
        jito_client = JitoClient(f"{jito_url}/api/v1/bundles", client=http, requests_per_s=10_000)
        venues = [
            JupiterVenue(rpc_client, wallet, JupiterConfig(url=f"{jup_url}/swap/v1"), client=http),
            JupiterVenue(
                rpc_client,
                wallet,
                JupiterConfig(url=f"{jup_url}/swap/v1", use_jito=True),
                jito=jito_client,
                client=http,
            ),
        ]
        config = LifecycleConfig(
            poll_interval_s=0.05,
            resend_interval_s=0.3,
            backoff_base_s=0.01,
            backoff_max_s=0.2,
            breaker_failures=8,
            breaker_cooldown_s=0.1,
            max_attempts=4,
        )
        orders = [order(i) for i in range(N_ORDERS)]
        crash_ids = {o.id for o in orders[::25]}
        crashing = [CrashingVenue(v, crash_ids) for v in venues]
        first = [OrderLifecycle(venue_db, v, config) for v in crashing]
        gate = asyncio.Semaphore(60)

        async def drive(lifecycles: list[OrderLifecycle], o: Order) -> str:
            async with gate:
                try:
                    return (await lifecycles[int(o.id.split(":")[1]) % 2].run(o)).status
                except Crash:
                    return "crashed"

        statuses = await asyncio.gather(*(drive(first, o) for o in orders))
        crashed = [o for o, s in zip(orders, statuses, strict=True) if s == "crashed"]
        assert len(crashed) <= len(orders[::25])
        # Restart: fresh life cycles (no memory); the orders are re-delivered and resume from the store.
        restarted = [OrderLifecycle(venue_db, v, config) for v in venues]
        pending = set(await restarted[0].pending_order_ids())
        assert {o.id for o in crashed} <= pending
        again = await asyncio.gather(*(drive(restarted, o) for o in crashed))
        assert "crashed" not in again
        # Re-delivering every order once more changes nothing: terminal orders return their outcome.
        replay = await asyncio.gather(*(drive(restarted, o) for o in orders[:50]))
        stored = {o.id: (await restarted[0].outcome(o.id)).status for o in orders[:50]}
        assert replay == [stored[o.id] for o in orders[:50]]
    finally:
        await http.aclose()
        for r in runners:
            await r.cleanup()

    async with venue_db.acquire() as conn:
        rows = await conn.fetch("SELECT order_id, status, reason FROM orders")
        txs = await conn.fetch("SELECT order_id, signature, state, in_amount, out_amount FROM order_txs")
        transitions = await conn.fetch(
            "SELECT order_id, from_status, to_status FROM order_transitions ORDER BY id"
        )
    status = {r["order_id"]: r["status"] for r in rows}
    assert len(status) == N_ORDERS and all(s in TERMINAL for s in status.values())
    by_status = Counter(status.values())
    # Exactly one landed transaction per confirmed order, none for others; the chain agrees.
    landed = [t for t in txs if t["state"] == "landed"]
    assert Counter(t["order_id"] for t in landed).most_common(1)[0][1] == 1
    assert {t["order_id"] for t in landed} == {o for o, s in status.items() if s == "confirmed"}
    assert max(rpc.executed_memos.values()) == 1
    assert set(rpc.executed_memos) == {t["order_id"] for t in landed}
    # Chain balances = sum of confirmed fills, exactly.
    delta = Counter[str]()
    by_id = {o.id: o for o in orders}
    for t in landed:
        o = by_id[t["order_id"]]
        spent, received = (USDC, SOL) if o.side == "buy" else (SOL, USDC)
        delta[spent] -= int(t["in_amount"])
        delta[received] += int(t["out_amount"])
    after = chain.balances()
    assert {m: after[m] - before[m] for m in (SOL, USDC)} == {SOL: delta[SOL], USDC: delta[USDC]}
    # Transitions chain up from None to the stored status, every one allowed.
    chains: dict[str, list[tuple[str | None, str]]] = {}
    for t in transitions:
        chains.setdefault(t["order_id"], []).append((t["from_status"], t["to_status"]))
    for oid, steps in chains.items():
        assert steps[0] == (None, "new")
        for (_, to), (frm, _) in itertools.pairwise(steps):
            assert frm == to
        assert steps[-1][1] == status[oid]
    print(
        f"orders={N_ORDERS} {dict(by_status)} rpc_faults={rpc_faults.counts}"
        f" jupiter_faults={jup_faults.counts} expired_txs={sum(t['state'] == 'expired' for t in txs)}"
    )
    assert by_status["confirmed"] >= N_ORDERS * 0.9
