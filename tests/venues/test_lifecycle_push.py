"""The life cycle with a signature watcher (`signatureSubscribe`): the node's push wakes the status read at
once, polls are rare until it comes, and a push that never comes leaves polling to decide."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
from aiohttp import web
from solders.keypair import Keypair

from chain.rpc import RpcClient
from market.fills import FILLED
from sandbox.http import serve
from tests.venues.pumpfun.test_pumpfun_venue import FEE_RECIPIENT, PumpRpc, curve_bytes, pump_order
from venues.lifecycle import LifecycleConfig, OrderLifecycle
from venues.pumpfun.config import PumpFunConfig
from venues.pumpfun.execution import PumpFunVenue


class LateRpc(PumpRpc):
    """Lands what it is sent, but its first status read does not show it yet (the node lags the push)."""

    def __init__(self) -> None:
        super().__init__(curve_bytes())
        self.status_reads = 0
        self.landed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body["method"] == "getSignatureStatuses":
            self.status_reads += 1
            if self.status_reads == 1:
                value = [None for _ in body["params"][0]]
                result = {"context": {"slot": 6}, "value": value}
                return web.json_response({"jsonrpc": "2.0", "result": result, "id": body["id"]})
        answer = await super().handle(request)
        if body["method"] == "sendTransaction":
            self.landed.set()
        return answer


class Watcher:
    """Pushes the confirmation once the double landed the transaction, as a node's notification would."""

    def __init__(self, rpc: LateRpc, fail: bool = False) -> None:
        self.rpc, self.fail = rpc, fail
        self.watched: list[str] = []

    async def confirmation(self, signature: str, timeout_s: float) -> Any:
        self.watched.append(signature)
        if self.fail:
            raise TimeoutError
        await self.rpc.landed.wait()
        return {"err": None}


async def _run(venue_db: asyncpg.Pool, fail: bool, config: LifecycleConfig) -> tuple[str, float, LateRpc]:
    rpc_double = LateRpc()
    runner, url = await serve([("POST", "/", rpc_double.handle)])
    rpc = RpcClient(url)
    watcher = Watcher(rpc_double, fail=fail)
    venue = PumpFunVenue(rpc, Keypair(), PumpFunConfig(fee_recipient=FEE_RECIPIENT))
    lifecycle = OrderLifecycle(venue_db, venue, config, watcher=watcher)
    try:
        started = time.monotonic()
        fill = await lifecycle.execute(pump_order("buy", 10**9), {}, now_ms=5)
        assert len(watcher.watched) == 1 and watcher.watched[0] in rpc_double.sent
        return fill.status, time.monotonic() - started, rpc_double
    finally:
        await rpc.close()
        await runner.cleanup()


async def test_the_push_wakes_the_status_read_long_before_the_next_poll(venue_db: asyncpg.Pool) -> None:
    # The landing is only visible after the first status read; the next poll would be 30 s away.
    config = LifecycleConfig(poll_interval_s=30.0, pushed_poll_interval_s=30.0)
    status, elapsed, rpc = await _run(venue_db, fail=False, config=config)
    assert status == FILLED and rpc.status_reads == 2 and elapsed < 10.0


async def test_a_push_that_never_comes_leaves_the_status_polls_to_decide(venue_db: asyncpg.Pool) -> None:
    config = LifecycleConfig(poll_interval_s=0.01, pushed_poll_interval_s=30.0)
    status, elapsed, rpc = await _run(venue_db, fail=True, config=config)
    assert status == FILLED and rpc.status_reads >= 2 and elapsed < 10.0
