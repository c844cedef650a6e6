"""`GET /ws?token=<access token>`: live prices, signals, orders, fills, alerts and status.

The client sends `{"subscribe": [...channels]}` (any time, replacing its subscriptions) and receives
`{"type": <channel>, "data": ...}` messages, plus `{"type": "dropped", "count": n}` when it fell behind.
An invalid token is answered by accepting and closing with code 4401, so browsers can see the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from web.api.deps import ApiState
from web.api.security import Authenticator, AuthFailed, Permission, Principal
from web.bridge import CHANNELS, Bridge, ClientQueue

log = logging.getLogger(__name__)

router = APIRouter(tags=["websocket"])
CLOSE_UNAUTHORIZED = 4401


async def authenticate_ws(auth: Authenticator, token: str | None) -> Principal | None:
    """The principal behind the `token` query parameter, or None when it is missing or invalid."""
    if not token:
        return None
    try:
        principal = await auth.authenticate(token)
    except AuthFailed:
        return None
    return principal if principal.can(Permission.READ_PORTFOLIO) else None


async def _receive_subscriptions(websocket: WebSocket, client: ClientQueue) -> None:
    while True:
        try:
            request = await websocket.receive_json()
        except ValueError:
            await websocket.send_json({"type": "error", "message": "send JSON"})
            continue
        channels = request.get("subscribe") if isinstance(request, dict) else None
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            await websocket.send_json({"type": "error", "message": 'expected {"subscribe": [channels]}'})
            continue
        unknown = sorted(set(channels) - CHANNELS)
        chosen = Bridge.subscribe(client, channels)
        await websocket.send_json({"type": "subscribed", "channels": chosen, "unknown": unknown})


async def _send_messages(websocket: WebSocket, client: ClientQueue) -> None:
    while True:
        await websocket.send_json(await client.get())


@router.websocket("/ws")
async def live(websocket: WebSocket, token: str | None = None) -> None:
    state: ApiState = websocket.app.state.api
    principal = await authenticate_ws(state.auth, token)
    await websocket.accept()
    if principal is None:
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason="invalid or expired token")
        return
    client = state.bridge.connect()
    tasks = [
        asyncio.create_task(_receive_subscriptions(websocket, client)),
        asyncio.create_task(_send_messages(websocket, client)),
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if exc is not None and not isinstance(exc, WebSocketDisconnect | RuntimeError):
                log.warning("websocket of %s ended: %r", principal.wallet, exc)
    finally:
        state.bridge.disconnect(client)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
