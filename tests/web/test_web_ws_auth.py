"""The WebSocket's identity: no token in the URL, authentication by subprotocol or first message, live
orders hidden from viewers, and sockets closed (4401/4403) when the session ends or the token expires.

The app is served by uvicorn on loopback in the test's own event loop, so the test can publish into the
bridge and watch what each socket receives.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from conftest import DOMAIN, bearer, grant, sign_in, signed_in
from fastapi import FastAPI
from solders.keypair import Keypair
from websockets.exceptions import ConnectionClosed

from core.settings import Settings
from web.api.app import create_app
from web.api.security import AuthConfig

CHECK_S = 0.2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def served(settings: Settings, **kwargs: Any) -> AsyncIterator[tuple[FastAPI, str, httpx.AsyncClient]]:
    """(the app, its ws:// URL, an HTTP client for it) while uvicorn serves it."""
    fast = settings.model_copy(update={"web_ws_check_s": CHECK_S, "web_ws_auth_timeout_s": 1.0})
    app = create_app(fast, live_bridge=False, **kwargs)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                raise RuntimeError("the API did not start")
            await asyncio.sleep(0.02)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{DOMAIN}") as client:
            yield app, f"ws://127.0.0.1:{port}/ws", client
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


async def _next(ws: Any, timeout_s: float = 3.0) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout_s))
    return message


async def _closed_with(ws: Any, timeout_s: float = 5.0) -> int:
    """Read until the server closes; its close code."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout_s)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return int(closed.rcvd.code)


async def _open(url: str, token: str) -> Any:
    ws = await websockets.connect(url, subprotocols=["solbot.v1", f"bearer.{token}"])  # type: ignore[list-item]
    assert ws.subprotocol == "solbot.v1"
    assert (await _next(ws))["type"] == "authenticated"
    return ws


async def test_token_in_the_url_is_refused(web_settings: Settings, owner: Keypair) -> None:
    async with served(web_settings) as (_, url, client):
        tokens = await sign_in(client, owner)
        async with websockets.connect(f"{url}?token={tokens['access_token']}") as ws:
            assert await _closed_with(ws) == 4400
        # Not even together with a valid subprotocol token: the URL form must not work at all.
        offered = ["solbot.v1", f"bearer.{tokens['access_token']}"]
        async with websockets.connect(f"{url}?token=x", subprotocols=offered) as ws:  # type: ignore[arg-type]
            assert await _closed_with(ws) == 4400


async def test_subprotocol_and_first_message_authenticate(web_settings: Settings, owner: Keypair) -> None:
    async with served(web_settings) as (_, url, client):
        tokens = await sign_in(client, owner)
        ws = await _open(url, tokens["access_token"])
        await ws.send(json.dumps({"subscribe": ["signals", "prices", "bogus"]}))
        reply = await _next(ws)
        assert reply == {
            "type": "subscribed",
            "channels": ["prices", "signals"],
            "unknown": ["bogus"],
            "forbidden": [],
        }
        await ws.close()
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"type": "auth", "token": tokens["access_token"]}))
            assert (await _next(ws))["type"] == "authenticated"
        async with websockets.connect(url) as ws:  # anything else first: closed
            await ws.send(json.dumps({"subscribe": ["prices"]}))
            assert await _closed_with(ws) == 4401
        async with websockets.connect(url) as ws:  # nothing within the timeout: closed
            assert await _closed_with(ws) == 4401
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"type": "auth", "token": tokens["refresh_token"]}))
            assert await _closed_with(ws) == 4401


async def test_viewers_never_receive_signals_or_orders(
    web_settings: Settings, owner: Keypair, viewer: Keypair, web_database_url: str
) -> None:
    trader = Keypair()
    await grant(web_database_url, trader, "trader")
    async with served(web_settings) as (app, url, client):
        stranger = await sign_in(client, Keypair())
        async with websockets.connect(
            url, subprotocols=["solbot.v1", f"bearer.{stranger['access_token']}"]
        ) as ws:  # type: ignore[list-item]
            assert await _closed_with(ws) == 4403  # no role: nothing to read
        watching = await _open(url, (await sign_in(client, viewer))["access_token"])
        trading = await _open(url, (await sign_in(client, trader))["access_token"])
        everything = ["signals", "orders", "fills", "prices"]
        for ws in (watching, trading):
            await ws.send(json.dumps({"subscribe": everything}))
        reply = await _next(watching)
        assert (reply["channels"], reply["forbidden"]) == (["fills", "prices"], ["orders", "signals"])
        assert (await _next(trading))["channels"] == ["fills", "orders", "prices", "signals"]
        bridge = app.state.api.bridge
        bridge.publish("signals", {"pair": "SOL/USDC", "side": "buy"})
        bridge.publish("orders", {"pair": "SOL/USDC", "amount_in": "1000", "min_amount_out": "9"})
        bridge.publish("fills", {"pair": "SOL/USDC", "status": "filled"})
        assert [(await _next(trading))["type"] for _ in range(3)] == ["signals", "orders", "fills"]
        assert (await _next(watching))["type"] == "fills"  # the first thing a viewer gets is the fill
        with pytest.raises(TimeoutError):
            await _next(watching, 0.5)
        await watching.close()
        await trading.close()


async def test_socket_closes_when_the_session_ends(
    web_settings: Settings, owner: Keypair, viewer: Keypair
) -> None:
    async with served(web_settings) as (_, url, client):
        tokens = await sign_in(client, viewer)
        ws = await _open(url, tokens["access_token"])
        assert (await client.post("/api/v1/auth/logout", headers=bearer(tokens))).status_code == 200
        assert await _closed_with(ws, 3 * CHECK_S + 2) == 4401
        # Revoking the role ends the wallet's sessions: its socket closes too.
        boss = await signed_in(client, owner)
        ws = await _open(url, (await sign_in(client, viewer))["access_token"])
        assert (await boss.delete(f"/api/v1/roles/{viewer.pubkey()}")).status_code == 200
        assert await _closed_with(ws, 3 * CHECK_S + 2) == 4401


async def test_socket_closes_when_its_token_expires_unless_renewed(
    web_settings: Settings, owner: Keypair
) -> None:
    async with served(web_settings, auth_config=AuthConfig(access_ttl_s=3)) as (_, url, client):
        first = await sign_in(client, owner)
        ws = await _open(url, first["access_token"])
        renewed = await _open(url, first["access_token"])
        # A 3 s token issued at a truncated second lives 2-3 s; renewing after 1 s stays inside it, and the
        # renewed token's exp is at least a whole second after the first's.
        await asyncio.sleep(1)
        rotated = (
            await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
        ).json()
        await renewed.send(json.dumps({"type": "auth", "token": rotated["access_token"]}))
        assert (await _next(renewed))["type"] == "authenticated"
        assert await _closed_with(ws, 3) == 4401  # the old token's expiry, to the second
        await renewed.send(json.dumps({"subscribe": ["prices"]}))
        assert (await _next(renewed))["type"] == "subscribed"  # the renewed one lives on
        # A token of another wallet cannot take over an open socket. The renewed token has a second or so
        # left here, less than a sign-in takes on a busy box (make test failed on it): renew it once more.
        again = (
            await client.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
        ).json()
        await renewed.send(json.dumps({"type": "auth", "token": again["access_token"]}))
        assert (await _next(renewed))["type"] == "authenticated"
        other = await sign_in(client, Keypair())
        await renewed.send(json.dumps({"type": "auth", "token": other["access_token"]}))
        assert await _closed_with(renewed) == 4401
