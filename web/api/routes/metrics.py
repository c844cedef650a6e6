"""`GET /metrics` on the API for Prometheus: request counts and latency by route, plus process metrics.

Open to loopback peers (a local Prometheus) and, from elsewhere, only with the METRICS_TOKEN bearer; a
request a proxy forwards (X-Forwarded-For or Forwarded) is never taken for a loopback one.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.datastructures import Headers
from starlette.types import Scope

from core.settings import Settings
from web.api.client_address import is_loopback
from web.api.errors import ApiError

router = APIRouter(tags=["operations"])

REQUESTS = Counter("solbot_api_requests_total", "API requests by route and status", ["route", "status"])
LATENCY = Histogram(
    "solbot_api_request_seconds",
    "API request time by route",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    if not metrics_allowed(request.scope, request.app.state.api.settings):
        raise ApiError(
            403, "forbidden", "metrics: loopback only, or send Authorization: Bearer <METRICS_TOKEN>"
        )
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def metrics_allowed(scope: Scope, settings: Settings) -> bool:
    """A loopback peer that no proxy speaks for, or the METRICS_TOKEN bearer (compared in constant time)."""
    headers = Headers(scope=scope)
    if settings.metrics_token is not None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        expected = settings.metrics_token.get_secret_value().encode()
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected):
            return True
    peer = scope["client"][0] if scope.get("client") else ""
    proxied = "x-forwarded-for" in headers or "forwarded" in headers
    return is_loopback(peer) and not proxied


async def observe_requests(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Middleware: count and time every request."""
    started = time.perf_counter()
    status = 500
    try:
        response = await call_next(request)
        status = response.status_code
        return response
    finally:
        # Label by path only when a route matched (our routes have no path parameters), so the label
        # set stays bounded whatever paths clients try.
        template = request.url.path if request.scope.get("route") is not None else "unmatched"
        REQUESTS.labels(template, str(status)).inc()
        LATENCY.labels(template).observe(time.perf_counter() - started)
