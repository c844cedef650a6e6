"""An async Solana PubSub (WebSocket) client that survives real networks.

Subscriptions are declared once (`subscribe_slots`, `subscribe_logs`, `subscribe_account`,
`subscribe_signature`; also while connected, when they are sent at once) and are (re)sent on every
connection: a reconnect resubscribes everything, because subscription ids belong to one connection.
`unsubscribe` withdraws one; a signature subscription withdraws itself after its final notification,
as the node does. Acks are matched to requests by JSON-RPC id; notifications are routed by the
subscription id the ack returned. Three things go wrong in practice and each has a counter:

- the server closes or the network drops: reconnect with exponential backoff and jitter;
- the connection stays open but nothing arrives (a provider that silently stopped streaming): after
  `stall_s` seconds without a notification the client counts a stall, calls `on_stall`, reconnects;
- a frame is not JSON or not shaped like a notification: counted and skipped, the loop goes on.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from core.config import endpoint

log = logging.getLogger(__name__)

_NOTIFICATION_OF = {
    "slotSubscribe": "slotNotification",
    "logsSubscribe": "logsNotification",
    "accountSubscribe": "accountNotification",
    "signatureSubscribe": "signatureNotification",
}
RECEIVED_SIGNATURE = "receivedSignature"  # a signature notification's value before the final one


@dataclass(frozen=True, slots=True)
class Subscription:
    """One subscription request, as sent: `method` and `params` are the JSON-RPC ones."""

    method: str
    params: tuple[Any, ...]
    name: str  # what it follows, for logs and metrics: "slots", a program id, an account

    @property
    def notification(self) -> str:
        return _NOTIFICATION_OF[self.method]

    @property
    def unsubscribe_method(self) -> str:
        return self.method.removesuffix("Subscribe") + "Unsubscribe"


@dataclass(frozen=True, slots=True)
class Notification:
    """A routed notification: `result` is `params.result` as the server sent it; `raw` the frame text
    (kept so a record that cannot be decoded goes to a dead-letter topic as it arrived)."""

    subscription: Subscription
    result: Any
    raw: str
    received_ms: int
    received_ns: int  # monotonic, for latency measurements within this process


Handler = Callable[[Notification], Awaitable[None]]
StallCallback = Callable[[float], None]


@dataclass(slots=True)
class WsStats:
    connects: int = 0
    reconnects: int = 0
    stalls: int = 0
    malformed: int = 0
    unrouted: int = 0  # notifications for a subscription id this connection does not know
    subscribe_errors: int = 0
    handler_errors: int = 0
    notifications: int = 0
    by_method: dict[str, int] = field(default_factory=dict)


class StallDetected(Exception):
    """No notification within the stall window; internal to the read loop (it triggers a reconnect)."""


class SolanaWsClient:
    """Owns one WebSocket at a time. The constructor opens nothing: `run()` connects and never returns
    until cancelled."""

    def __init__(
        self,
        url: str,
        *,
        stall_s: float = 30.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        open_timeout_s: float = 10.0,
        on_stall: StallCallback | None = None,
        commitment: str = "confirmed",
        rng: random.Random | None = None,
    ) -> None:
        if stall_s <= 0 or backoff_initial_s <= 0 or backoff_max_s < backoff_initial_s:
            raise ValueError("stall_s and backoff_initial_s must be > 0, backoff_max_s >= backoff_initial_s")
        self.url = url
        self.stall_s = stall_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.open_timeout_s = open_timeout_s
        self.on_stall = on_stall
        self.commitment = commitment
        self.stats = WsStats()
        self.connected = asyncio.Event()  # set once every subscription of this connection is acked
        self._rng = rng or random.Random()
        self._subs: list[tuple[Subscription, Handler]] = []
        self._ids = itertools.count(1)
        self._active: dict[int, tuple[Subscription, Handler]] = {}  # subscription id -> target
        self._pending: dict[int, tuple[Subscription, Handler]] = {}  # request id -> target
        self._cancelling: set[int] = set()  # request ids of unsubscribe requests on this connection
        self._ws: ClientConnection | None = None
        self._sending: set[asyncio.Task[None]] = set()  # subscriptions added on a live connection
        self._delivered = False

    # -- declaring subscriptions -------------------------------------------------------------------

    def subscribe_slots(self, handler: Handler) -> Subscription:
        return self._add(Subscription("slotSubscribe", (), "slots"), handler)

    def subscribe_logs(self, program_id: str, handler: Handler) -> Subscription:
        """One subscription per program: `mentions` accepts exactly one pubkey."""
        params = ({"mentions": [program_id]}, {"commitment": self.commitment})
        return self._add(Subscription("logsSubscribe", params, program_id), handler)

    def subscribe_account(self, pubkey: str, handler: Handler) -> Subscription:
        params = (pubkey, {"encoding": "base64", "commitment": self.commitment})
        return self._add(Subscription("accountSubscribe", params, pubkey), handler)

    def subscribe_signature(
        self, signature: str, handler: Handler, *, received: bool = False
    ) -> Subscription:
        """One transaction's status: notified once it reaches the commitment (`value.err` None when it
        succeeded) and, with `received`, also when the node first sees it (`value` "receivedSignature")."""
        config: dict[str, Any] = {"commitment": self.commitment}
        if received:
            config["enableReceivedNotification"] = True
        return self._add(Subscription("signatureSubscribe", (signature, config), signature), handler)

    async def confirmation(self, signature: str, timeout_s: float) -> Any:
        """Wait for `signature` to reach the client's commitment: its final notification's `value`
        (`{"err": None}` when it succeeded, `{"err": <TransactionError>}` when it failed), pushed by the
        node instead of polled. TimeoutError (and the subscription withdrawn) if none came in time:
        that proves nothing about the transaction; only a status read after its expiry does."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        async def final(note: Notification) -> None:
            if not done.done():
                done.set_result(note.result.get("value") if isinstance(note.result, dict) else None)

        sub = self.subscribe_signature(signature, final)
        try:
            async with asyncio.timeout(timeout_s):
                return await done
        finally:
            if self._declared(sub):
                self.unsubscribe(sub)

    def unsubscribe(self, sub: Subscription) -> None:
        """Withdraw `sub` (the object a `subscribe_*` returned): never sent again, and cancelled on the
        live connection (a task, like `_add`); its late notifications are counted as unrouted."""
        self._forget(sub)
        for sub_id, (active, _) in list(self._active.items()):
            if active is sub:
                del self._active[sub_id]
                if self._ws is not None:
                    self._soon(self._cancel(self._ws, sub, sub_id))

    def _forget(self, sub: Subscription) -> None:
        self._subs = [(s, h) for s, h in self._subs if s is not sub]

    def _declared(self, sub: Subscription) -> bool:
        return any(s is sub for s, _ in self._subs)

    def _add(self, sub: Subscription, handler: Handler) -> Subscription:
        """Declared for every future connection; on a live one it is also sent now (a task: this may be
        called from a handler, which must not wait for the socket)."""
        self._subs.append((sub, handler))
        if self._ws is not None:
            self._soon(self._request(self._ws, sub, handler))
        return sub

    def _soon(self, send: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(send)
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _request(self, ws: ClientConnection, sub: Subscription, handler: Handler) -> None:
        request_id = next(self._ids)
        self._pending[request_id] = (sub, handler)
        frame = {"jsonrpc": "2.0", "id": request_id, "method": sub.method, "params": list(sub.params)}
        try:
            await ws.send(orjson.dumps(frame).decode())
        except ConnectionClosed:
            self._pending.pop(request_id, None)  # the next connection sends it with the rest

    async def _cancel(self, ws: ClientConnection, sub: Subscription, sub_id: int) -> None:
        request_id = next(self._ids)
        self._cancelling.add(request_id)
        frame = {"jsonrpc": "2.0", "id": request_id, "method": sub.unsubscribe_method, "params": [sub_id]}
        try:
            await ws.send(orjson.dumps(frame).decode())
        except ConnectionClosed:
            self._cancelling.discard(request_id)  # the subscription died with the connection

    @property
    def subscriptions(self) -> list[Subscription]:
        return [sub for sub, _ in self._subs]

    # -- the loop ----------------------------------------------------------------------------------

    def backoff_s(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: half fixed, half random, so clients spread out."""
        ceiling = min(self.backoff_max_s, self.backoff_initial_s * (2 ** min(attempt, 30)))
        return ceiling / 2 + self._rng.random() * ceiling / 2

    async def run(self) -> None:
        attempt = 0
        while True:
            self._delivered = False
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except StallDetected:
                self.stats.stalls += 1
                log.warning(
                    "solana ws %s: no notification for %.1f s; reconnecting", endpoint(self.url), self.stall_s
                )
                if self.on_stall is not None:
                    self.on_stall(self.stall_s)
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake, InvalidURI) as exc:
                log.warning("solana ws %s: %s: %s", endpoint(self.url), type(exc).__name__, exc)
            finally:
                self.connected.clear()
                self._ws = None
                self._active.clear()
                self._pending.clear()
                self._cancelling.clear()
            attempt = 0 if self._delivered else attempt + 1
            self.stats.reconnects += 1
            await asyncio.sleep(self.backoff_s(attempt))

    async def _session(self) -> None:
        """One connection: subscribe everything, then read until it closes or stalls (it only ends by
        raising). Sets `_delivered` when a notification arrived: such a connection resets the backoff."""
        async with connect(
            self.url, open_timeout=self.open_timeout_s, max_size=64 * 2**20, ping_interval=20, ping_timeout=20
        ) as ws:
            self._ws = ws  # from here on, `_add` sends new subscriptions itself: hence the snapshot
            self.stats.connects += 1
            for sub, handler in list(self._subs):
                await self._request(ws, sub, handler)
            if not self._subs:
                self.connected.set()
            deadline = time.monotonic() + self.stall_s
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StallDetected()
                try:  # asyncio.timeout, not wait_for: 3.11's wait_for loses a cancel that meets a frame
                    async with asyncio.timeout(remaining):
                        frame_data = await ws.recv()
                except TimeoutError:
                    raise StallDetected() from None
                received_ms = int(time.time() * 1000)
                received_ns = time.monotonic_ns()
                text = frame_data if isinstance(frame_data, str) else frame_data.decode("utf-8", "replace")
                if await self._dispatch(text, received_ms, received_ns):
                    self._delivered = True
                    deadline = time.monotonic() + self.stall_s

    async def _dispatch(self, text: str, received_ms: int, received_ns: int) -> bool:
        """Handle one frame; True when it was a routed notification. Never raises for bad input."""
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            return self._malformed("not JSON", text)
        if not isinstance(msg, dict):
            return self._malformed("not an object", text)
        if "id" in msg and ("result" in msg or "error" in msg):
            self._ack(msg)
            return False
        method, params = msg.get("method"), msg.get("params")
        if not isinstance(method, str) or not isinstance(params, dict):
            return self._malformed("neither a response nor a notification", text)
        sub_id = params.get("subscription")
        if not isinstance(sub_id, int) or isinstance(sub_id, bool) or "result" not in params:
            return self._malformed("notification without subscription or result", text)
        target = self._active.get(sub_id)
        if target is None:
            self.stats.unrouted += 1
            return False
        sub, handler = target
        if method != sub.notification:
            return self._malformed(f"{method} on a {sub.method} subscription", text)
        if sub.method == "signatureSubscribe" and not _received_only(params["result"]):
            del self._active[sub_id]  # the node has ended it: not to be sent again either
            self._forget(sub)
        self.stats.notifications += 1
        self.stats.by_method[method] = self.stats.by_method.get(method, 0) + 1
        try:
            await handler(Notification(sub, params["result"], text, received_ms, received_ns))
        except asyncio.CancelledError:
            raise
        except Exception:  # one bad handler call must not cost the stream; it is counted and logged
            self.stats.handler_errors += 1
            log.exception("solana ws: handler for %s %s failed", sub.method, sub.name)
        return True

    def _ack(self, msg: dict[str, Any]) -> None:
        request_id = msg.get("id")
        if isinstance(request_id, int) and request_id in self._cancelling:
            self._cancelling.discard(request_id)
            if msg.get("result") is not True:
                log.warning("solana ws: unsubscribe refused: %s", msg.get("error"))
            return
        target = self._pending.pop(request_id, None) if isinstance(request_id, int) else None
        if target is None:
            self._malformed("response to no pending request", "")
            return
        sub = target[0]
        result = msg.get("result")
        if "error" in msg or not isinstance(result, int) or isinstance(result, bool):
            self.stats.subscribe_errors += 1
            log.error("solana ws: %s %s refused: %s", sub.method, sub.name, msg.get("error"))
        elif not self._declared(sub):  # withdrawn while its request was in flight
            if self._ws is not None:
                self._soon(self._cancel(self._ws, sub, result))
        else:
            self._active[result] = target
        if not self._pending:
            self.connected.set()

    def _malformed(self, reason: str, text: str) -> bool:
        self.stats.malformed += 1
        log.warning("solana ws: skipped a frame (%s): %.120s", reason, text)
        return False


def _received_only(result: Any) -> bool:
    """A signature notification that is not the final one (`enableReceivedNotification`)."""
    return isinstance(result, dict) and result.get("value") == RECEIVED_SIGNATURE
