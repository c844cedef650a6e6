"""The one JSON-RPC 2.0 client of the bot, for the Solana node and for Jito's block engine alike.

The HTTP side is solana-py's (`AsyncHTTPProvider`: an httpx2 pool, HTTP/2 where the server offers it,
requests serialized by its `JsonRpcRequest`). Around it, our policy, the same for every server:

- one attempt per call: solana-py's own transport retries are off, because a caller that did not hear
  back (a `sendTransaction`, a `sendBundle`) must decide itself whether to send again (the order life
  cycle does; the collectors retry their reads);
- HTTP 429, or a JSON-RPC error with code 429, is `RpcRateLimited` carrying the server's Retry-After;
- no answer in time is `RpcTimeout` (the request may have arrived);
- a JSON-RPC error is mapped by its code (`chain.rpc.errors.map_error`), never by its message.

Answers are read with orjson rather than solders' typed responses or solana-py's pydantic envelope:
solders keeps no code for several errors (-32003 comes back as a bare enum), returns a code-429 error as
if it were a result, and panics (a BaseException) on a `data.err` it does not know; the envelope rejects
an error answered with `"id": null`, JSON-RPC's own shape for a request the server could not read.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
import httpx2
import orjson
from solana.exceptions import SolanaRpcException
from solana.rpc.async_http_provider import AsyncHTTPProvider
from solana.rpc.jsonrpc import JsonRpcRequest

from chain.rpc.errors import HTTP_TOO_MANY_REQUESTS, map_error, parse_retry_after
from core.errors import RpcError, RpcRateLimited, RpcTimeout

# httpcore (under httpx, which the venues' REST clients use) runs `import sniffio` on every async
# request; anyio 4.16 no longer depends on it, and a missing module is searched for again on every import
# (sys.path scan: ~1 ms, the top cost of a busy client in the fault test's profile). Recording the miss
# makes the failed import immediate; nothing is lost, since httpcore then assumes asyncio, which it would
# conclude anyway.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]


KEEPALIVE_EXPIRY_S = 5.0  # httpx's default


@dataclass(slots=True)
class _Seen:
    """What the HTTP layer saw of one call's response (solana-py hands back only the body)."""

    status: int = 0
    retry_after: str | None = None


# Per task: the call awaiting its response reads what the response hook wrote, even with many in flight.
_SEEN: ContextVar[_Seen | None] = ContextVar("chain_rpc_seen", default=None)


async def _note_response(response: httpx2.Response) -> None:
    seen = _SEEN.get()
    if seen is not None:
        seen.status = response.status_code
        seen.retry_after = response.headers.get("retry-after")


class JsonRpcTransport:
    """JSON-RPC over HTTP to one URL. The constructor opens nothing; `close` releases the pool.

    Up to `max_connections` connections, each kept open for reuse while idle less than 5 s (httpx's
    default keeps only 20: a burst of more concurrent calls would reconnect for each, a TLS handshake to
    a remote node). `client`: an httpx client whose timeout to adopt (the connection pool is solana-py's
    own); kept for callers that configure all their HTTP clients through one.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 10.0,
        headers: dict[str, str] | None = None,
        name: str = "",
        client: httpx.AsyncClient | None = None,
        max_connections: int = 100,
    ) -> None:
        if client is not None and client.timeout.read is not None:
            timeout_s = client.timeout.read
        self.url = url
        self.timeout_s = timeout_s
        self._prefix = f"{name} " if name else ""
        self._provider = AsyncHTTPProvider(
            url,
            extra_headers=headers or None,
            timeout=timeout_s,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=KEEPALIVE_EXPIRY_S,
            max_transport_retries=0,
        )
        self._provider.session.event_hooks["response"].append(_note_response)
        self._ids = itertools.count(1)

    async def close(self) -> None:
        await self._provider.close()

    async def call(self, method: str, params: list[Any]) -> Any:
        """One request; the `result`, or the mapped exception."""
        request = JsonRpcRequest(id=next(self._ids), method=method, params=params)
        seen = _Seen()
        token = _SEEN.set(seen)
        try:
            text = await self._provider.make_request_unparsed(request)
        except SolanaRpcException as exc:
            raise self._failure(method, exc.__cause__) from exc
        finally:
            _SEEN.reset(token)
        return self._result(method, text, seen.status, seen.retry_after)

    def _failure(self, method: str, cause: BaseException | None) -> RpcError:
        """The error for a call that got no usable 2xx answer: timeout, transport, HTTP status."""
        label = f"{self._prefix}{method}"
        if isinstance(cause, httpx2.TimeoutException):
            return RpcTimeout(f"{label}: no answer from the server in time")
        if not isinstance(cause, httpx2.HTTPStatusError):
            return RpcError(f"{label}: transport error {type(cause).__name__}")
        response = cause.response
        retry_after = response.headers.get("retry-after")
        if response.status_code == HTTP_TOO_MANY_REQUESTS:
            return RpcRateLimited(f"{label}: rate limited (HTTP 429)", parse_retry_after(retry_after))
        try:
            self._result(method, response.text, response.status_code, retry_after)
        except RpcError as exc:
            return exc
        return RpcError(f"{label}: HTTP {response.status_code}", response.status_code)

    def _result(self, method: str, text: str, status: int, retry_after: str | None) -> Any:
        """The `result` of an answer's body, or the mapped error (a JSON-RPC error wins over status)."""
        label = f"{self._prefix}{method}"
        try:
            payload = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise RpcError(f"{label}: HTTP {status}, body is not JSON", status) from exc
        if not isinstance(payload, dict):
            raise RpcError(f"{label}: answer is not a JSON object", status)
        error = payload.get("error")
        if isinstance(error, dict):
            mapped = map_error(error)
            if isinstance(mapped, RpcRateLimited):
                mapped.retry_after_s = parse_retry_after(retry_after)
            raise mapped
        if status >= 400:
            raise RpcError(f"{label}: HTTP {status}", status)
        if "result" not in payload:
            raise RpcError(f"{label}: answer has neither result nor error")
        return payload["result"]
