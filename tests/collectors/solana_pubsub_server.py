"""A local server that speaks Solana's PubSub wire format (solana-com docs, rpc/websocket/*): acks
`{"jsonrpc","result":<subId>,"id"}`, notifications `{"jsonrpc","method","params":{"result","subscription"}}`.

Tests drive it: `notify_logs`, `notify_slot`, `notify_account`, `notify_signature` (which ends that
subscription, as a node does), `send_raw`, `drop()` (server-side close), and `stalled = True` (keeps the
socket open, acks, sends nothing). `*Unsubscribe` requests are answered `true` and kept in `unsubscribes`.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from typing import Any

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve

PUMP = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"


class PubSubServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []  # every subscribe request, in arrival order
        self.unsubscribes: list[dict[str, Any]] = []
        self.connections = 0
        self.stalled = False
        self._sub_ids = itertools.count(24040)
        self._conn: ServerConnection | None = None
        self._subs: dict[int, tuple[str, list[Any]]] = {}  # live subscription id -> (method, params)
        self._server: Server | None = None
        self.subscribed = asyncio.Event()  # set when a connection has sent `expect` subscriptions
        self.expect = 0
        self.refuse: set[str] = set()  # methods answered with a JSON-RPC error instead of an id
        self.acks_open = asyncio.Event()  # cleared: subscribe requests wait for their ack until it is set
        self.acks_open.set()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    async def __aenter__(self) -> PubSubServer:
        self._server = await serve(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, conn: ServerConnection) -> None:
        self.connections += 1
        self._conn = conn
        self._subs = {}
        self.subscribed.clear()
        count = 0
        async for frame in conn:
            msg = orjson.loads(frame)
            if msg["method"].endswith("Unsubscribe"):
                self.unsubscribes.append(msg)
                found = self._subs.pop(msg["params"][0], None) is not None
                await conn.send(orjson.dumps({"jsonrpc": "2.0", "result": found, "id": msg["id"]}).decode())
                continue
            self.requests.append(msg)
            count += 1
            if msg["method"] in self.refuse:
                error = {"code": -32602, "message": "Invalid params: Invalid Request: Invalid pub key input"}
                await conn.send(orjson.dumps({"jsonrpc": "2.0", "error": error, "id": msg["id"]}).decode())
                if count >= self.expect:
                    self.subscribed.set()
                continue
            await self.acks_open.wait()
            sub_id = next(self._sub_ids)
            self._subs[sub_id] = (msg["method"], msg["params"])
            await conn.send(orjson.dumps({"jsonrpc": "2.0", "result": sub_id, "id": msg["id"]}).decode())
            if count >= self.expect:
                self.subscribed.set()

    def sub_id(self, method: str, match: Any = None) -> int:
        for sub_id, (m, params) in self._subs.items():
            if m != method:
                continue
            if match is None or (params and (params[0] == match or params[0] == {"mentions": [match]})):
                return sub_id
        raise KeyError(f"no live {method} for {match}")

    async def send_raw(self, text: str) -> None:
        if self.stalled:
            return
        assert self._conn is not None
        await self._conn.send(text)

    async def _notify(self, method: str, sub_id: int, result: Any) -> None:
        frame = {"jsonrpc": "2.0", "method": method, "params": {"result": result, "subscription": sub_id}}
        await self.send_raw(orjson.dumps(frame).decode())

    async def notify_logs(
        self, program: str, *, signature: str, logs: list[str], slot: int, err: Any = None
    ) -> None:
        result = {"context": {"slot": slot}, "value": {"signature": signature, "err": err, "logs": logs}}
        await self._notify("logsNotification", self.sub_id("logsSubscribe", program), result)

    async def notify_slot(self, slot: int) -> None:
        result = {"parent": slot - 1, "root": slot - 32, "slot": slot}
        await self._notify("slotNotification", self.sub_id("slotSubscribe"), result)

    async def notify_account(
        self, pubkey: str, *, data_b64: str, slot: int, lamports: int, owner: str = PUMP
    ) -> None:
        value = {
            "data": [data_b64, "base64"],
            "executable": False,
            "lamports": lamports,
            "owner": owner,
            "rentEpoch": 18446744073709551615,
            "space": len(base64.b64decode(data_b64)),
        }
        result = {"context": {"slot": slot}, "value": value}
        await self._notify("accountNotification", self.sub_id("accountSubscribe", pubkey), result)

    async def notify_signature(
        self, signature: str, *, slot: int, err: Any = None, received: bool = False
    ) -> None:
        """The final notification (and the end of the subscription), or with `received` the early one."""
        sub_id = self.sub_id("signatureSubscribe", signature)
        value: Any = "receivedSignature" if received else {"err": err}
        await self._notify("signatureNotification", sub_id, {"context": {"slot": slot}, "value": value})
        if not received:
            self._subs.pop(sub_id, None)

    async def drop(self) -> None:
        """Close the connection from the server side, as a provider restarting would."""
        if self._conn is not None:
            await self._conn.close(code=1012, reason="service restart")


async def eventually(check: Any, timeout_s: float = 5.0) -> None:
    """Wait until `check()` is truthy (no fixed sleeps)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
