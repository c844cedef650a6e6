"""The shared JSON-RPC transport (solana-py's HTTP provider) against a local server: classification by
code through the real HTTP path, HTTP 429 and Retry-After, timeouts, one attempt per call."""

from __future__ import annotations

import asyncio
import email.utils
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from rpc_script import Answer, ScriptedRpc, error, result

from chain.rpc import JsonRpcTransport
from core.errors import (
    BlockhashNotFound,
    MinContextSlotNotReached,
    NodeBehind,
    PreflightFailed,
    RpcError,
    RpcRateLimited,
    RpcTimeout,
    SignatureVerificationFailed,
)


@pytest.fixture
async def server() -> AsyncIterator[ScriptedRpc]:
    async with ScriptedRpc() as s:
        yield s


@pytest.fixture
async def rpc(server: ScriptedRpc) -> AsyncIterator[JsonRpcTransport]:
    transport = JsonRpcTransport(server.url, timeout_s=0.3)
    try:
        yield transport
    finally:
        await transport.close()


async def test_each_error_code_through_http_maps_to_its_class(
    server: ScriptedRpc, rpc: JsonRpcTransport
) -> None:
    preflight = "Transaction simulation failed: Blockhash not found"  # the message never decides
    cases: list[tuple[Answer, type[RpcError]]] = [
        (error(-32002, preflight, {"err": "BlockhashNotFound", "logs": []}), BlockhashNotFound),
        (error(-32002, preflight, {"err": {"InstructionError": [0, {"Custom": 6001}]}}), PreflightFailed),
        (error(-32002, preflight, {"err": {"InstructionError": [0, 1]}}), PreflightFailed),
        (error(-32002, preflight), PreflightFailed),
        (error(-32003, "Transaction signature verification failure"), SignatureVerificationFailed),
        (error(-32005, "Node is behind by 42 slots", {"numSlotsBehind": 42}), NodeBehind),
        (error(-32016, "Min context slot not reached", {"contextSlot": 3}), MinContextSlotNotReached),
        (error(429, "Too many requests for a specific RPC call"), RpcRateLimited),
        (error(-32601, "Method not found"), RpcError),
        # a JSON-RPC error wins over the HTTP status it came with
        (error(-32005, "Node is unhealthy", status=503), NodeBehind),
        (error(-32002, preflight, {"err": "BlockhashNotFound"}, status=500), BlockhashNotFound),
    ]  # fmt: skip
    for answer, expected in cases:
        server.then(answer)
        with pytest.raises(expected) as info:
            await rpc.call("sendTransaction", ["AQ==", {"encoding": "base64"}])
        assert type(info.value) is expected
        assert info.value.code == answer.body["error"]["code"]
        assert info.value.data == answer.body["error"].get("data")


async def test_http_429_carries_retry_after_in_seconds_or_as_a_date(
    server: ScriptedRpc, rpc: JsonRpcTransport
) -> None:
    in_five_s = email.utils.formatdate(time.time() + 5, usegmt=True)
    server.then(
        Answer(429, {"jsonrpc": "2.0", "error": {"code": 429, "message": "Too many"}}, {"Retry-After": "2"}),
        Answer(429, "slow down", {"Retry-After": "0.25"}),
        Answer(429, "slow down", {"Retry-After": in_five_s}),
        Answer(429, "slow down", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        Answer(429, "slow down"),
        error(429, "Too many requests for a specific RPC call", **{"Retry-After": "3"}),  # inside HTTP 200
    )
    waits: list[float | None] = []
    for _ in range(6):
        with pytest.raises(RpcRateLimited) as info:
            await rpc.call("getBlockHeight", [])
        assert info.value.code == 429
        waits.append(info.value.retry_after_s)
    assert waits[:2] == [2.0, 0.25]
    assert waits[2] is not None and 3.0 < waits[2] <= 5.0  # HTTP dates have whole seconds
    assert waits[3:] == [None, None, 3.0]


async def test_concurrent_calls_each_read_their_own_retry_after(
    server: ScriptedRpc, rpc: JsonRpcTransport
) -> None:
    async def respond(body: dict[str, Any]) -> Answer:
        wait, delay_s = body["params"]
        answer = error(429, "Too many requests", **{"Retry-After": wait})
        answer.body["id"] = body["id"]
        answer.delay_s = delay_s
        return answer

    server.respond = respond

    async def limited(wait: str, delay_s: float) -> float | None:
        with pytest.raises(RpcRateLimited) as info:
            await rpc.call("getSlot", [wait, delay_s])
        return info.value.retry_after_s

    # the first call's answer comes back last: each must still see its own header
    assert await asyncio.gather(limited("7", 0.15), limited("3", 0.0), limited("5", 0.05)) == [7.0, 3.0, 5.0]


async def test_answers_that_are_not_json_rpc(server: ScriptedRpc, rpc: JsonRpcTransport) -> None:
    server.then(
        Answer(502, "<html>bad gateway</html>"),
        Answer(503, {"jsonrpc": "2.0", "result": 1, "id": 1}),
        Answer(200, "not json"),
        Answer(200, [1, 2]),
        Answer(200, {"jsonrpc": "2.0", "id": 1}),
        Answer(200, {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None}),
    )
    for expected_code in (502, 503, 200, 200, 0, -32700):
        with pytest.raises(RpcError) as info:
            await rpc.call("getSlot", [])
        assert type(info.value) is RpcError and info.value.code == expected_code
    server.then(Answer(200, {"result": 7}))  # no jsonrpc, no id: still read, as before
    assert await rpc.call("getSlot", []) == 7


async def test_a_timeout_is_rpc_timeout_after_one_attempt(server: ScriptedRpc, rpc: JsonRpcTransport) -> None:
    server.then(Answer(body={"jsonrpc": "2.0", "result": "sig", "id": 1}, delay_s=1.0))
    started = time.monotonic()
    with pytest.raises(RpcTimeout):
        await rpc.call("sendTransaction", ["AQ=="])
    assert time.monotonic() - started < 0.9
    await asyncio.sleep(0.3)
    assert len(server.requests) == 1  # solana-py's transport retries are off: the caller decides


async def test_an_unreachable_server_is_a_transport_error_not_a_timeout() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = JsonRpcTransport(f"http://127.0.0.1:{port}", timeout_s=1.0, name="jito")
    try:
        with pytest.raises(RpcError) as info:
            await transport.call("sendBundle", [])
        assert type(info.value) is RpcError
        assert str(info.value).startswith("jito sendBundle: transport error")
    finally:
        await transport.close()


async def test_requests_are_json_rpc_2_with_our_headers(server: ScriptedRpc) -> None:
    transport = JsonRpcTransport(server.url, headers={"x-jito-auth": "uuid-1"})
    try:
        server.then(result("a"), result({"value": [None]}))
        assert await transport.call("sendBundle", [["AQ=="], {"encoding": "base64"}]) == "a"
        assert await transport.call("getBundleStatuses", [["b"], {"x": None}]) == {"value": [None]}
    finally:
        await transport.close()
    first, second = server.requests
    assert first == {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "sendBundle",
        "params": [["AQ=="], {"encoding": "base64"}],
    }
    assert second["id"] == 2 and second["params"] == [["b"], {"x": None}]  # nulls inside params are kept
    assert all(h.get("x-jito-auth") == "uuid-1" for h in server.headers)
    assert all(h.get("Content-Type") == "application/json" for h in server.headers)


async def test_an_httpx_client_lends_its_timeout(server: ScriptedRpc) -> None:
    http = httpx.AsyncClient(timeout=0.2)
    transport = JsonRpcTransport(server.url, timeout_s=30, client=http)
    try:
        assert transport.timeout_s == 0.2
        server.then(Answer(body={"jsonrpc": "2.0", "result": 1, "id": 1}, delay_s=0.8))
        with pytest.raises(RpcTimeout):
            await transport.call("getSlot", [])
    finally:
        await transport.close()
        await http.aclose()


async def test_a_burst_reuses_its_connections(server: ScriptedRpc) -> None:
    async def respond(body: dict[str, Any]) -> Answer:
        return Answer(body={"jsonrpc": "2.0", "result": body["id"], "id": body["id"]}, delay_s=0.1)

    server.respond = respond
    transport = JsonRpcTransport(server.url, timeout_s=5)
    try:
        for _ in range(2):  # 40 calls in flight, twice: the second burst opens no connection
            await asyncio.gather(*(transport.call("getSlot", []) for _ in range(40)))
    finally:
        await transport.close()
    first, second = set(server.peers[:40]), set(server.peers[40:])
    assert len(first) == 40 and second <= first
