"""Rate limits declared as data, counted in Redis with a fixed window per identity and endpoint group.

A fixed window (a counter that expires with its window) costs one round trip and is shared by every API
process; its known weakness (up to twice the limit across a window edge) is acceptable for these budgets.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

KEY_PREFIX = "solbot:web:ratelimit:"


@dataclass(frozen=True, slots=True)
class Limit:
    requests: int
    window_s: int = 60


DEFAULT_LIMITS: dict[str, Limit] = {
    "auth": Limit(30),
    "orders": Limit(60),
    "kill_switch": Limit(20),  # halt and resume: a flood of orders never spends the budget to stop
    "portfolio": Limit(100),
    "strategy": Limit(100),
    "market_data": Limit(1000),
    "default": Limit(300),
}

# (method, path prefix, group), first match wins: each endpoint's budget, counted before authentication
# (web/api/guards.py) so a flood of bad tokens is limited like any other.
ENDPOINT_GROUPS: tuple[tuple[str, str, str], ...] = (
    ("*", "/api/v1/auth/me", "default"),
    ("*", "/api/v1/auth/local/sign", "default"),  # one per trading click of the local session
    ("*", "/api/v1/auth/", "auth"),
    ("POST", "/api/v1/system/halt", "kill_switch"),
    ("POST", "/api/v1/system/resume", "kill_switch"),
    ("POST", "/api/v1/portfolio/rebalance", "orders"),
    ("*", "/api/v1/orders", "orders"),
    ("*", "/api/v1/portfolio", "portfolio"),
    ("*", "/api/v1/strategy", "strategy"),
    ("*", "/api/v1/market-data", "market_data"),
    ("*", "/api/v1/", "default"),
    ("*", "/docs", "default"),
    ("*", "/openapi.json", "default"),
    ("*", "/reports/", "default"),
)


def group_of(method: str, path: str) -> str | None:
    """The budget a request counts against; None for the dashboard's files and /metrics."""
    for want, prefix, group in ENDPOINT_GROUPS:
        below = prefix if prefix.endswith("/") else prefix + "/"
        if (want == "*" or want == method) and (path == prefix.rstrip("/") or path.startswith(below)):
            return group
    return None


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    remaining: int
    retry_after_s: int  # 0 when allowed


class RateLimiter:
    def __init__(self, redis: aioredis.Redis, limits: dict[str, Limit] | None = None) -> None:
        self._redis = redis
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}

    async def hit(self, group: str, identity: str, *, now: float | None = None) -> Verdict:
        """Count one request of `identity` against `group`'s budget in the current window."""
        limit = self.limits.get(group, self.limits["default"])
        now = time.time() if now is None else now
        window = int(now // limit.window_s)
        key = f"{KEY_PREFIX}{group}:{identity}:{window}"
        pipe = self._redis.pipeline(transaction=True)
        # SET NX EX then INCR rather than EXPIRE NX, which needs Redis 7 (the embedded one is 6.2).
        pipe.set(key, 0, ex=limit.window_s + 1, nx=True)
        pipe.incr(key)
        _, count = await pipe.execute()
        if count <= limit.requests:
            return Verdict(True, limit.requests - count, 0)
        window_end = (window + 1) * limit.window_s
        return Verdict(False, 0, max(1, math.ceil(window_end - now)))
