"""`GET /ws`: live prices, signals, orders, fills, alerts and status, for a signed-in wallet with a role.

Authentication never rides in the URL (proxies and uvicorn log URLs): the client either offers the
subprotocols `solbot.v1, bearer.<access token>` (the server answers `solbot.v1`), or sends
`{"type": "auth", "token": "<access token>"}` as its first message within `WEB_WS_AUTH_TIMEOUT_S`. A
`token` query parameter is refused (close 4400) and never checked. The same auth message later replaces
the token (the dashboard sends each refreshed one), for the same wallet only.

Then `{"subscribe": [...channels]}` (any time, replacing the subscriptions) and messages
`{"type": <channel>, "data": ...}`, plus `{"type": "dropped", "count": n}` when the client fell behind.
`signals` and `orders` (what the bot is about to trade) need the `view_live_orders` permission (owner,
trader): a viewer's subscription lists them under `forbidden` and never receives them.

The socket is re-checked every `WEB_WS_CHECK_S` and at its token's expiry: an ended session (logout,
refresh reuse, revoked role) or an expired token closes it with 4401, a wallet left without any read
permission with 4403; a narrowed role drops the channels it no longer allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from web.api.deps import ApiState
from web.api.security import Authenticator, AuthFailed, Permission, Principal
from web.bridge import CHANNELS, Bridge, ClientQueue

log = logging.getLogger(__name__)

router = APIRouter(tags=["websocket"])
SUBPROTOCOL = "solbot.v1"
BEARER_PROTOCOL_PREFIX = "bearer."
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
LIVE_ORDER_CHANNELS = frozenset({"signals", "orders"})
_READ = (Permission.READ_PORTFOLIO, Permission.VIEW_ANALYTICS)


def allowed_channels(principal: Principal) -> frozenset[str]:
    """The channels this principal may receive: none without a read permission; signals and orders only
    with `view_live_orders`."""
    if not any(principal.can(p) for p in _READ):
        return frozenset()
    if principal.can(Permission.VIEW_LIVE_ORDERS):
        return CHANNELS
    return CHANNELS - LIVE_ORDER_CHANNELS


class WsClosed(Exception):
    """End the socket with this close code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class WsSession:
    """One socket's current token and principal; the receive loop and the guard both update it."""

    token: str
    principal: Principal


async def _authenticate(auth: Authenticator, token: str, wallet: str | None = None) -> Principal:
    try:
        principal = await auth.authenticate(token)
    except AuthFailed:
        raise WsClosed(CLOSE_UNAUTHORIZED, "invalid or expired token, or session ended") from None
    if wallet is not None and principal.wallet != wallet:
        raise WsClosed(CLOSE_UNAUTHORIZED, "a token of another wallet")
    if not allowed_channels(principal):
        raise WsClosed(CLOSE_FORBIDDEN, "this wallet has no role that may read")
    return principal


def _protocol_token(websocket: WebSocket) -> tuple[str | None, bool]:
    """(the bearer token offered as a subprotocol, whether `solbot.v1` was offered)."""
    offered = [p.strip() for p in websocket.scope.get("subprotocols", [])]
    token = next(
        (p[len(BEARER_PROTOCOL_PREFIX) :] for p in offered if p.startswith(BEARER_PROTOCOL_PREFIX)), None
    )
    return token or None, SUBPROTOCOL in offered


def _auth_message(raw: str) -> str | None:
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    if isinstance(message, dict) and message.get("type") == "auth" and isinstance(message.get("token"), str):
        token: str = message["token"]
        return token
    return None


def _restrict(client: ClientQueue, principal: Principal) -> None:
    client.channels &= set(allowed_channels(principal))


async def _receive(
    websocket: WebSocket, client: ClientQueue, auth: Authenticator, session: WsSession
) -> None:
    while True:
        raw = await websocket.receive_text()
        token = _auth_message(raw)
        if token is not None:
            session.principal = await _authenticate(auth, token, session.principal.wallet)
            session.token = token
            _restrict(client, session.principal)
            await websocket.send_json({"type": "authenticated", "expires_s": session.principal.expires_s})
            continue
        try:
            request = json.loads(raw)
        except ValueError:
            await websocket.send_json({"type": "error", "message": "send JSON"})
            continue
        channels = request.get("subscribe") if isinstance(request, dict) else None
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            await websocket.send_json({"type": "error", "message": 'expected {"subscribe": [channels]}'})
            continue
        allowed = allowed_channels(session.principal)
        unknown = sorted(set(channels) - CHANNELS)
        forbidden = sorted((set(channels) & CHANNELS) - allowed)
        chosen = Bridge.subscribe(client, [c for c in channels if c in allowed])
        reply = {"type": "subscribed", "channels": chosen, "unknown": unknown, "forbidden": forbidden}
        await websocket.send_json(reply)


async def _send(websocket: WebSocket, client: ClientQueue) -> None:
    while True:
        await websocket.send_json(await client.get())


async def _guard(client: ClientQueue, auth: Authenticator, session: WsSession, check_s: float) -> None:
    """Re-check the session and role every `check_s`, and at the token's expiry to the second."""
    while True:
        until_expiry = session.principal.expires_s - time.time()
        await asyncio.sleep(max(0.0, min(check_s, until_expiry)))
        session.principal = await _authenticate(auth, session.token, session.principal.wallet)
        _restrict(client, session.principal)


async def _first_token(websocket: WebSocket, timeout_s: float) -> str:
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), timeout_s)
    except TimeoutError:
        raise WsClosed(CLOSE_UNAUTHORIZED, "authenticate first") from None
    token = _auth_message(raw)
    if token is None:
        raise WsClosed(CLOSE_UNAUTHORIZED, 'the first message must be {"type": "auth", "token": ...}')
    return token


@router.websocket("/ws")
async def live(websocket: WebSocket) -> None:
    state: ApiState = websocket.app.state.api
    auth, settings = state.auth, state.settings
    protocol_token, offered_ours = _protocol_token(websocket)
    await websocket.accept(subprotocol=SUBPROTOCOL if offered_ours else None)
    client: ClientQueue | None = None
    tasks: list[asyncio.Task[None]] = []
    try:
        if "token" in websocket.query_params:
            raise WsClosed(CLOSE_BAD_REQUEST, "tokens are not accepted in the URL; see /ws authentication")
        token = protocol_token or await _first_token(websocket, settings.web_ws_auth_timeout_s)
        session = WsSession(token, await _authenticate(auth, token))
        await websocket.send_json({"type": "authenticated", "expires_s": session.principal.expires_s})
        client = state.bridge.connect()
        tasks = [
            asyncio.create_task(_receive(websocket, client, auth, session)),
            asyncio.create_task(_send(websocket, client)),
            asyncio.create_task(_guard(client, auth, session, settings.web_ws_check_s)),
        ]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if isinstance(exc, WsClosed):
                raise exc
            if exc is not None and not isinstance(exc, WebSocketDisconnect | RuntimeError):
                log.warning("websocket of %s ended: %r", session.principal.wallet, exc)
    except WsClosed as closed:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=closed.code, reason=closed.reason)
    except WebSocketDisconnect:
        pass
    finally:
        if client is not None:
            state.bridge.disconnect(client)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
