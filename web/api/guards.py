"""The API's edge, as plain ASGI middlewares that run before routing and authentication:

- `SecurityHeaders`: CSP with no external origin, no framing, nosniff, no referrer; HSTS under TLS.
- `BodyLimit`: 413 for a body over WEB_MAX_BODY_BYTES, by Content-Length before anything is read, or as
  soon as a streamed body passes the limit (so nothing parses a 20 MB body).
- `EdgeRateLimit`: every API request counts against its endpoint's budget (`ratelimit.ENDPOINT_GROUPS`)
  before authentication, keyed by the wallet of a validly signed token or else the client's address
  (`client_address`: X-Forwarded-For only from WEB_TRUSTED_PROXIES).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from redis.exceptions import RedisError
from starlette.datastructures import Headers
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.settings import Settings
from web.api.client_address import client_address, is_trusted
from web.api.errors import error_json
from web.api.ratelimit import group_of

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI sets style attributes from its bundle: the docs page alone allows inline styles (still no
# external origin, and no inline script).
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
# A backtest report is one self-contained page with its own <style>: inline styles, and no script at all.
REPORT_CSP = DOCS_CSP.replace("script-src 'self'", "script-src 'none'")


def csp_of(path: str) -> str:
    if path == "/docs":
        return DOCS_CSP
    return REPORT_CSP if path.startswith("/reports/") else CSP


async def send_error(
    send: Send, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps(error_json(status, code, message)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw.extend((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def client_of(scope: Scope, settings: Settings) -> str:
    peer = scope["client"][0] if scope.get("client") else None
    forwarded = Headers(scope=scope).getlist("x-forwarded-for")
    return client_address(peer, forwarded, settings.web_trusted_proxies)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def _over_tls(self, scope: Scope) -> bool:
        if self.settings.web_tls or scope.get("scheme") == "https":
            return True
        peer = scope["client"][0] if scope.get("client") else None
        proto = Headers(scope=scope).get("x-forwarded-proto", "")
        return peer is not None and is_trusted(peer, self.settings.web_trusted_proxies) and proto == "https"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = csp_of(scope["path"])
        extra = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if self._over_tls(scope):
            hsts = f"max-age={self.settings.web_hsts_max_age_s}; includeSubDomains"
            extra.append((b"strict-transport-security", hsts.encode()))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """Content-Length over the limit: 413 at once, nothing read. A streamed body is counted as it arrives
    by Starlette's `RequestBodyLimitMiddleware`; FastAPI's body reader knows its error and lets it through
    as a 413 HTTP error, which the error handlers render like any other."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = RequestBodyLimitMiddleware(app, max_body_size=max_bytes)
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = Headers(scope=scope).get("content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
                await send_error(send, 413, "payload_too_large", f"request body over {self.max_bytes} bytes")
                return
        await self.app(scope, receive, send)


class EdgeRateLimit:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        group = group_of(scope.get("method", "GET"), scope["path"]) if scope["type"] == "http" else None
        api: Any = getattr(scope["app"].state, "api", None) if "app" in scope else None
        if group is None or api is None:
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("authorization", "")
        scheme, _, token = header.partition(" ")
        wallet = api.auth.wallet_of(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        identity = f"wallet:{wallet}" if wallet else f"ip:{client_of(scope, self.settings)}"
        try:
            verdict = await api.limiter.hit(group, identity)
        except (RedisError, OSError) as exc:
            log.warning("rate limiter unavailable: %s", type(exc).__name__)
            await send_error(send, 503, "unavailable", "rate limiter unavailable; retry shortly")
            return
        if not verdict.allowed:
            retry = str(verdict.retry_after_s)
            message = f"too many requests; retry in {retry} s"
            await send_error(send, 429, "rate_limited", message, {"Retry-After": retry})
            return
        scope.setdefault("state", {})["rate_limit_group"] = group
        remaining = str(verdict.remaining).encode()

        async def with_remaining(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != b"x-ratelimit-remaining"]
                message = {**message, "headers": [*headers, (b"x-ratelimit-remaining", remaining)]}
            await send(message)

        await self.app(scope, receive, with_remaining)
