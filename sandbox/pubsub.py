"""The sandbox's Solana PubSub (WebSocket) server over `SandboxRpc`, in the wire format of the Solana RPC
docs (solana-com/solana-com, content/docs/en/rpc/websocket/*.mdx): a subscribe request is acked
`{"jsonrpc","result":<subscription id>,"id"}`, a notification is
`{"jsonrpc","method":"<kind>Notification","params":{"result":…,"subscription":<id>}}`.

slotSubscribe and accountSubscribe are driven by a ticker that looks at the chain once a slot;
signatureSubscribe and logsSubscribe by the RPC's landing listeners. A final signatureNotification ends
its subscription, as a node does.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from sandbox.rpc import SandboxRpc

log = logging.getLogger(__name__)

NOTIFICATIONS = {
    "slotSubscribe": "slotNotification",
    "signatureSubscribe": "signatureNotification",
    "logsSubscribe": "logsNotification",
    "accountSubscribe": "accountNotification",
}


@dataclass
class _Sub:
    conn: ServerConnection
    method: str
    params: list[Any]
    last: Any = None  # accountSubscribe: the value last sent


@dataclass
class PubSubServer:
    """One WebSocket endpoint; every connection's subscriptions share one id space."""

    rpc: SandboxRpc
    subs: dict[int, _Sub] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: Server | None = None
    _ticker: asyncio.Task[None] | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen; returns the ws:// URL."""
        self._server = await serve(self._handle, host, port)
        self.rpc.on_landed.append(self._landed)
        self._ticker = asyncio.create_task(self._tick())
        bound = self._server.sockets[0].getsockname()[1]
        return f"ws://{host}:{bound}"

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        if self._landed in self.rpc.on_landed:
            self.rpc.on_landed.remove(self._landed)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, conn: ServerConnection) -> None:
        try:
            async for frame in conn:
                await self._request(conn, frame)
        except ConnectionClosed:
            pass
        finally:
            for sub_id in [i for i, s in self.subs.items() if s.conn is conn]:
                del self.subs[sub_id]

    async def _request(self, conn: ServerConnection, frame: str | bytes) -> None:
        try:
            msg = orjson.loads(frame)
            method, params, rid = msg["method"], msg.get("params", []), msg.get("id")
        except (orjson.JSONDecodeError, KeyError, TypeError):
            await _send(
                conn, {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None}
            )
            return
        if method.endswith("Unsubscribe"):
            sub = self.subs.get(params[0]) if params else None
            found = sub is not None and sub.conn is conn
            if found:
                del self.subs[params[0]]
            await _send(conn, {"jsonrpc": "2.0", "result": found, "id": rid})
            return
        if method not in NOTIFICATIONS:
            error = {"code": -32601, "message": "Method not found"}
            await _send(conn, {"jsonrpc": "2.0", "error": error, "id": rid})
            return
        sub_id = next(self._ids)
        self.subs[sub_id] = _Sub(conn, method, list(params))
        await _send(conn, {"jsonrpc": "2.0", "result": sub_id, "id": rid})
        if method == "accountSubscribe":
            self.subs[sub_id].last = self.rpc.account_value(params[0])
        if method == "signatureSubscribe" and params and params[0] in self.rpc.landed:
            slot, err, _ = self.rpc.landed[params[0]]
            self._landed(params[0], slot, err)  # already landed: a node answers at once

    def _landed(self, signature: str, slot: int, err: object) -> None:
        logs, keys = self.rpc.details.get(signature, ([], []))
        wire_err = None if err is None else {"InstructionError": err}
        context = {"slot": slot}
        for sub_id, sub in list(self.subs.items()):
            target = sub.params[0] if sub.params else None
            if sub.method == "signatureSubscribe" and target == signature:
                self._push(sub_id, sub, {"context": context, "value": {"err": wire_err}})
                del self.subs[sub_id]
            elif sub.method == "logsSubscribe" and _mentions(target, keys):
                value = {"signature": signature, "err": wire_err, "logs": logs}
                self._push(sub_id, sub, {"context": context, "value": value})

    def _push(self, sub_id: int, sub: _Sub, result: Any) -> None:
        frame = {
            "jsonrpc": "2.0",
            "method": NOTIFICATIONS[sub.method],
            "params": {"result": result, "subscription": sub_id},
        }
        asyncio.get_running_loop().create_task(_send(sub.conn, frame))

    async def _tick(self) -> None:
        """Once a slot: slot notifications, and account notifications for accounts that changed."""
        seen = self.rpc.height()
        while True:
            await asyncio.sleep(self.rpc.slot_s / 2)
            slot = self.rpc.height()
            if slot == seen:
                continue
            seen = slot
            for sub_id, sub in list(self.subs.items()):
                if sub.method == "slotSubscribe":
                    self._push(sub_id, sub, {"parent": slot - 1, "root": max(slot - 32, 0), "slot": slot})
                elif sub.method == "accountSubscribe":
                    value = self.rpc.account_value(sub.params[0])
                    if value != sub.last:
                        sub.last = value
                        self._push(sub_id, sub, {"context": {"slot": slot}, "value": value})


def _mentions(target: Any, keys: list[str]) -> bool:
    """logsSubscribe's filter: "all", "allWithVotes" or {"mentions": [one address]}."""
    if target in ("all", "allWithVotes"):
        return True
    if isinstance(target, dict):
        return any(m in keys for m in target.get("mentions", []))
    return False


async def _send(conn: ServerConnection, frame: dict[str, Any]) -> None:
    try:
        await conn.send(orjson.dumps(frame).decode())
    except ConnectionClosed:
        log.debug("pubsub client went away before a notification")
