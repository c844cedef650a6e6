"""`GET /metrics` on the API for Prometheus: request counts and latency by route, plus process metrics.

Unauthenticated, like every Prometheus target: bind the API to a private network in production.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

router = APIRouter(tags=["operations"])

REQUESTS = Counter("solbot_api_requests_total", "API requests by route and status", ["route", "status"])
LATENCY = Histogram(
    "solbot_api_request_seconds",
    "API request time by route",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


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
