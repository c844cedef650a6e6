"""JitoClient on the shared JSON-RPC transport: what it sends (auth header, params) and reads."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from core.errors import RpcError, RpcRateLimited
from sandbox.http import serve
from venues.jito.execution import TIP_ACCOUNTS, JitoClient
from venues.jito.schemas import BundleStatus

TX = "AQ=="


class BlockEngine:
    """Answers getTipAccounts and getBundleStatuses as Jito's docs show; records every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.limited = False

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append((dict(request.headers), body))
        rid = body["id"]
        if self.limited:  # a rate limit inside an HTTP 200, with its hint in the header
            error = {"code": 429, "message": "Rate limit exceeded. Limit: 1 per second for txn requests"}
            return web.json_response(
                {"jsonrpc": "2.0", "error": error, "id": rid}, headers={"Retry-After": "1"}
            )
        if body["method"] == "getTipAccounts":
            return web.json_response({"jsonrpc": "2.0", "result": [str(a) for a in TIP_ACCOUNTS], "id": rid})
        if body["method"] == "getBundleStatuses":
            entry = {
                "bundle_id": body["params"][0][0],
                "transactions": ["sig1"],
                "slot": 242_806_119,
                "confirmationStatus": "finalized",
                "err": {"Ok": None},
            }
            result = {"context": {"slot": 242_806_119}, "value": [entry, None]}
            return web.json_response({"jsonrpc": "2.0", "result": result, "id": rid})
        error = {"code": -32601, "message": "Method not found"}
        return web.json_response({"jsonrpc": "2.0", "error": error, "id": rid})


async def test_jito_calls_go_through_the_shared_transport() -> None:
    engine = BlockEngine()
    runner, url = await serve([("POST", "/api/v1/bundles", engine.handle)])
    jito = JitoClient(f"{url}/api/v1/bundles", auth_uuid="0b5a6e1c-uuid")
    try:
        assert await jito.get_tip_accounts() == [str(a) for a in TIP_ACCOUNTS]
        statuses = await jito.get_bundle_statuses(["b1", "b2"])
        assert statuses == [BundleStatus("b1", ["sig1"], 242_806_119, "finalized", {"Ok": None}), None]
        with pytest.raises(RpcError) as unknown:
            await jito.send_bundle([TX])
        assert unknown.value.code == -32601
        engine.limited = True
        with pytest.raises(RpcRateLimited) as limited:
            await jito.send_bundle([TX])
        assert limited.value.retry_after_s == 1.0
    finally:
        await jito.close()
        await runner.cleanup()
    assert [body["method"] for _, body in engine.requests] == [
        "getTipAccounts",
        "getBundleStatuses",
        "sendBundle",
        "sendBundle",
    ]
    assert engine.requests[0][1]["params"] == []
    assert engine.requests[1][1]["params"] == [["b1", "b2"]]
    assert all(headers.get("x-jito-auth") == "0b5a6e1c-uuid" for headers, _ in engine.requests)
