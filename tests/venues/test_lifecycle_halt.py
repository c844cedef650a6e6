"""The kill switch reaches every send: a halt that comes while a first broadcast is being retried (after
a timeout, behind an open breaker) stops the retry; nothing more leaves (the live kill-switch test once
saw a send 2.5 s after a halt)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
import httpx
from solders.keypair import Keypair

from chain.local import LocalChain
from chain.rpc import RpcClient
from core.errors import RpcTimeout
from sandbox.http import serve
from sandbox.jupiter import SandboxJupiter
from sandbox.rpc import SandboxRpc
from sandbox.world import SOL, USDC
from streams.records import Order
from tests.venues.test_lifecycle_faults import STATE, order
from venues.interface import RelayVerdict
from venues.jupiter.config import JupiterConfig
from venues.jupiter.execution import JupiterVenue
from venues.lifecycle import EXPIRED, FAILED, LifecycleConfig, OrderLifecycle


class Halt:
    """The kill switch as the life cycle sees it."""

    def __init__(self) -> None:
        self.on = False

    async def __call__(self, order: Order) -> str | None:
        return "halted: operator" if self.on and order.side == "buy" else None


class TimesOutThenHalts:
    """A venue whose first broadcast times out before reaching the node, while the operator halts."""

    def __init__(self, inner: JupiterVenue, halt: Halt) -> None:
        self.inner, self.name, self.rpc, self.halt = inner, inner.name, inner.rpc, halt
        self.broadcasts = 0

    async def prepare(self, o: Order, wallet: Mapping[str, int]) -> Any:
        return await self.inner.prepare(o, wallet)

    def address(self) -> Any:
        return self.inner.address()

    async def broadcast(self, raw: str) -> None:
        self.broadcasts += 1
        if self.broadcasts == 1:
            self.halt.on = True
            raise RpcTimeout("sendTransaction timed out")
        await self.inner.broadcast(raw)

    async def rebroadcast(self, raw: str) -> None:
        self.broadcasts += 1
        await self.inner.rebroadcast(raw)

    async def relay_verdict(self, signature: str) -> RelayVerdict:
        return await self.inner.relay_verdict(signature)

    def observe_landing(self, landed: bool) -> None:
        self.inner.observe_landing(landed)


async def test_a_halt_during_a_retried_first_send_stops_the_retry(venue_db: asyncpg.Pool) -> None:
    wallet = Keypair()
    chain = LocalChain({SOL: 9, USDC: 6}, wallet)
    chain.fund_wallet({SOL: 10**13, USDC: 10**12})
    rpc = SandboxRpc(chain, slot_s=0.02, window=50)
    jupiter = SandboxJupiter(rpc, wallet.pubkey(), [STATE])
    rpc_runner, rpc_url = await serve([("POST", "/", rpc.handle)])
    jup_runner, jup_url = await serve(jupiter.routes())
    http = httpx.AsyncClient(timeout=2.0)
    try:
        inner = JupiterVenue(
            RpcClient(rpc_url, client=http), wallet, JupiterConfig(url=f"{jup_url}/swap/v1"), client=http
        )
        halt = Halt()
        venue = TimesOutThenHalts(inner, halt)
        config = LifecycleConfig(poll_interval_s=0.02, resend_interval_s=0.1, backoff_base_s=0.05)
        lifecycle = OrderLifecycle(venue_db, venue, config, gate=halt)  # type: ignore[arg-type]
        fill = await lifecycle.run(order(0))  # even: a buy
        # The timed-out try may have reached the node, so the order is not failed unsent: the status reads
        # prove its blockhash expired with nothing landed. No retry and no re-broadcast went out.
        assert venue.broadcasts == 1
        assert rpc.sent == 0
        assert fill.status in (EXPIRED, FAILED) and fill.status != "confirmed"
        assert (await lifecycle.outcome("ord:0")).status == EXPIRED
        # A buy decided after the halt is refused before anything is sent.
        refused = await lifecycle.run(order(2))
        assert (refused.status, refused.reason) == (FAILED, "halted: operator")
        assert venue.broadcasts == 1 and rpc.sent == 0
    finally:
        await http.aclose()
        await rpc_runner.cleanup()
        await jup_runner.cleanup()
