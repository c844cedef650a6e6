"""The RPC, Jupiter and Jito clients against a local server answering with each documented error shape."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from solders.keypair import Keypair

from chain.rpc import RpcClient
from core.errors import (
    BlockhashNotFound,
    NodeBehind,
    PreflightFailed,
    RpcError,
    RpcRateLimited,
    RpcTimeout,
    SignatureVerificationFailed,
    VenueError,
    VenueRejected,
)
from sandbox.http import serve
from venues.jito.execution import JitoClient
from venues.jupiter.config import JupiterConfig
from venues.jupiter.execution import JupiterVenue


class Scripted:
    """Answers each request with the next scripted (status, headers, body, delay_s)."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], Any, float]] = []
        self.requests: list[Any] = []

    def then(
        self, status: int, body: Any, headers: dict[str, str] | None = None, delay_s: float = 0.0
    ) -> None:
        self.script.append((status, headers or {}, body, delay_s))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(await request.json() if request.method == "POST" else dict(request.query))
        status, headers, body, delay_s = self.script.pop(0)
        if delay_s:
            await asyncio.sleep(delay_s)
        if isinstance(body, str):
            return web.Response(status=status, text=body, headers=headers)
        return web.json_response(body, status=status, headers=headers)


@pytest.fixture
async def server() -> AsyncIterator[tuple[Scripted, str]]:
    scripted = Scripted()
    runner, url = await serve([("POST", "/", scripted.handle), ("GET", "/quote", scripted.handle)])
    try:
        yield scripted, url
    finally:
        await runner.cleanup()


def rpc_error(code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "error": error, "id": 1}


TX = base64.b64encode(b"\x01" + bytes(64) + b"\x80").decode()


async def test_rpc_error_shapes_map_by_code(server: tuple[Scripted, str]) -> None:
    scripted, url = server
    rpc = RpcClient(url, timeout_s=0.3)
    cases: list[tuple[int, dict[str, str], Any, type[Exception]]] = [
        (
            429,
            {"Retry-After": "2"},
            {"jsonrpc": "2.0", "error": {"code": 429, "message": "Too many"}},
            RpcRateLimited,
        ),
        (200, {}, rpc_error(429, "Too many requests for a specific RPC call"), RpcRateLimited),
        (
            200,
            {},
            rpc_error(
                -32002, "Transaction simulation failed: Blockhash not found", {"err": "BlockhashNotFound"}
            ),
            BlockhashNotFound,
        ),
        (
            200,
            {},
            rpc_error(-32002, "Transaction simulation failed", {"err": {"InstructionError": [0, 1]}}),
            PreflightFailed,
        ),
        (
            200,
            {},
            rpc_error(-32003, "Transaction signature verification failure"),
            SignatureVerificationFailed,
        ),
        (200, {}, rpc_error(-32005, "Node is behind by 42 slots", {"numSlotsBehind": 42}), NodeBehind),
        (502, {}, "<html>bad gateway</html>", RpcError),
    ]
    try:
        for status, headers, body, expected in cases:
            scripted.then(status, body, headers)
            with pytest.raises(expected) as info:
                await rpc.send_transaction(TX)
            assert "secret" not in str(info.value)
        scripted.then(429, "slow down", {"Retry-After": "1.5"})
        with pytest.raises(RpcRateLimited) as limited:
            await rpc.get_block_height()
        assert limited.value.retry_after_s == 1.5
        scripted.then(429, "slow down", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
        with pytest.raises(RpcRateLimited) as dated:
            await rpc.get_block_height()
        assert dated.value.retry_after_s is None
        scripted.then(200, {"jsonrpc": "2.0", "result": 5, "id": 1}, delay_s=1.0)
        with pytest.raises(RpcTimeout):
            await rpc.get_block_height()
        # sendTransaction always asks the node not to retry: the life cycle re-sends itself.
        assert scripted.requests[0]["params"][1]["maxRetries"] == 0
    finally:
        await rpc.close()


async def test_rpc_node_behind_data_is_kept(server: tuple[Scripted, str]) -> None:
    scripted, url = server
    rpc = RpcClient(url)
    try:
        scripted.then(200, rpc_error(-32005, "Node is behind by 42 slots", {"numSlotsBehind": 42}))
        with pytest.raises(NodeBehind) as info:
            await rpc.get_latest_blockhash()
        assert info.value.data == {"numSlotsBehind": 42}
        scripted.then(200, {"jsonrpc": "2.0", "result": {"context": {"slot": 1}, "value": None}, "id": 1})
        assert await rpc.get_account_info("11111111111111111111111111111111") is None
    finally:
        await rpc.close()


async def test_jupiter_error_shapes(server: tuple[Scripted, str]) -> None:
    scripted, url = server
    http = httpx.AsyncClient(timeout=0.3)
    venue = JupiterVenue(RpcClient(url, client=http), Keypair(), JupiterConfig(url=url), client=http)
    order = _order()
    try:
        scripted.then(429, {"error": "rate limited"}, {"Retry-After": "3"})
        with pytest.raises(RpcRateLimited) as limited:
            await venue.quote(order)
        assert limited.value.retry_after_s == 3.0
        scripted.then(400, {"error": "Could not find any route", "errorCode": "COULD_NOT_FIND_ANY_ROUTE"})
        with pytest.raises(VenueRejected):
            await venue.quote(order)
        scripted.then(503, "unavailable")
        with pytest.raises(VenueError) as unavailable:
            await venue.quote(order)
        assert not isinstance(unavailable.value, VenueRejected)
        scripted.then(200, {"inAmount": "1"}, delay_s=1.0)
        with pytest.raises(RpcTimeout):
            await venue.quote(order)
    finally:
        await http.aclose()


async def test_jito_error_shapes(server: tuple[Scripted, str]) -> None:
    scripted, url = server
    jito = JitoClient(url, timeout_s=0.3)
    try:
        scripted.then(429, {"jsonrpc": "2.0", "error": {"code": -32097, "message": "Rate limit exceeded"}},
                      {"Retry-After": "1"})  # fmt: skip
        with pytest.raises(RpcRateLimited) as limited:
            await jito.send_bundle([TX])
        assert limited.value.retry_after_s == 1.0
        scripted.then(200, rpc_error(-32602, "bundle contains an expired blockhash"))
        with pytest.raises(RpcError):
            await jito.send_bundle([TX])
        scripted.then(200, {"jsonrpc": "2.0", "result": "bundle-id", "id": 1}, delay_s=1.0)
        with pytest.raises(RpcTimeout):
            await jito.send_bundle([TX])
        scripted.then(200, {"jsonrpc": "2.0", "result": "b1", "id": 1})
        assert await jito.send_bundle([TX]) == "b1"
        assert scripted.requests[-1]["params"] == [[TX], {"encoding": "base64"}]
        with pytest.raises(ValueError):
            await jito.send_bundle([TX] * 6)
    finally:
        await jito.close()


def _order() -> Any:
    from streams.records import Order, PoolState

    state = PoolState(
        venue="raydium",
        pool="p",
        base_mint="So11111111111111111111111111111111111111112",
        quote_mint="EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
        base_decimals=9,
        quote_decimals=6,
        base_reserve=10**12,
        quote_reserve=10**11,
        fee_bps=25,
    )
    return Order(
        id="ord:x", signal_id="sig", pair="SOL/USDC", side="buy", amount_in=10**6, min_amount_out=0,
        venue="raydium", pool="p", pool_state=state, kind="entry", reason="t", ts_ms=1, origin_ms=1,
        decided_ms=1,
    )  # fmt: skip
