"""Dependencies as `Annotated` aliases: the shared clients, the current wallet, permissions, limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import asyncpg
import redis.asyncio as aioredis
from fastapi import Depends, Request, Response
from redis.exceptions import RedisError

from core.settings import Settings
from web.api.backtest_jobs import BacktestJobs
from web.api.errors import ApiError, unauthorized
from web.api.guards import client_of
from web.api.local_signin import LocalSigner
from web.api.publisher import Publisher
from web.api.ratelimit import RateLimiter
from web.api.request_signing import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    RequestVerifier,
    SignatureRefused,
    parts_of,
    request_message,
)
from web.api.security import Authenticator, AuthFailed, Permission, Principal
from web.bridge import Bridge

# A pair filter: BASE/QUOTE of printable symbols. Control characters are refused here, not by the
# database (Postgres refuses a NUL byte in text with an error, which was a 500).
PAIR_QUERY = r"^[^\x00-\x1f\x7f/]{1,31}/[^\x00-\x1f\x7f/]{1,31}$"


@dataclass
class ApiState:
    """What the lifespan opens; routes reach it only through the dependencies below."""

    settings: Settings
    pool: asyncpg.Pool
    redis: aioredis.Redis
    auth: Authenticator
    limiter: RateLimiter
    bridge: Bridge
    signer: RequestVerifier
    publisher: Publisher | None = None  # None when no broker is configured
    local: LocalSigner | None = None  # the one-click local sign-in (development on loopback only)
    backtests: BacktestJobs | None = None


def get_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


StateDep = Annotated[ApiState, Depends(get_state)]


def get_pool(state: StateDep) -> asyncpg.Pool:
    return state.pool


def get_redis(state: StateDep) -> aioredis.Redis:
    return state.redis


def get_settings_dep(state: StateDep) -> Settings:
    return state.settings


def get_publisher(state: StateDep) -> Publisher:
    if state.publisher is None:
        raise ApiError(503, "unavailable", "no broker configured: control requests cannot be published")
    return state.publisher


PublisherDep = Annotated[Publisher, Depends(get_publisher)]
PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
RedisDep = Annotated[aioredis.Redis, Depends(get_redis)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


async def get_current_wallet(request: Request, state: StateDep) -> Principal:
    """The signed-in caller; 401 without a valid access token of an open session."""
    token = bearer_token(request)
    if token is None:
        raise unauthorized("missing bearer token")
    try:
        return await state.auth.authenticate(token)
    except AuthFailed:
        raise unauthorized("invalid or expired access token") from None


CurrentWallet = Annotated[Principal, Depends(get_current_wallet)]


def require(*permissions: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting a caller that holds ANY of `permissions` (403 otherwise)."""

    async def check(principal: CurrentWallet) -> Principal:
        if not any(principal.can(p) for p in permissions):
            names = ", ".join(p.value for p in permissions)
            raise ApiError(403, "forbidden", f"needs permission: {names}")
        return principal

    return check


def signing_domain(settings: Settings, request: Request) -> str:
    """The domain a request signature names: the configured one, else (development) the Host."""
    return settings.web_domain or request.headers.get("host", "").lower()


def require_signed(*permissions: Permission) -> Callable[..., Awaitable[Principal]]:
    """`require(*permissions)`, then the wallet's signature over the request (`web.api.request_signing`):
    401 when it is missing, malformed, stale, replayed or not the caller's."""
    permitted = require(*permissions)

    # A default rather than `Annotated`: the annotation would name a local, which FastAPI cannot resolve.
    async def check(
        request: Request,
        state: StateDep,
        principal: Principal = Depends(permitted),  # noqa: B008
    ) -> Principal:
        headers = request.headers
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        try:
            parts = parts_of(
                headers.get(TIMESTAMP_HEADER), headers.get(NONCE_HEADER), headers.get(SIGNATURE_HEADER)
            )
            body = await request.body()
            domain = signing_domain(state.settings, request)
            message = request_message(domain, request.method, target, body, parts.timestamp_ms, parts.nonce)
            await state.signer.verify(principal.wallet, message, parts)
        except SignatureRefused as exc:
            raise ApiError(401, exc.code, str(exc)) from None
        except (RedisError, OSError) as exc:
            raise ApiError(503, "unavailable", f"request nonce not checked: {type(exc).__name__}") from None
        return principal

    return check


def rate_limited(group: str) -> Callable[[Request, Response, ApiState], Awaitable[None]]:
    """A dependency counting the request against `group`'s budget for its wallet (or client address),
    unless the edge (`web.api.guards.EdgeRateLimit`) already counted it against its endpoint's budget."""

    async def check(request: Request, response: Response, state: StateDep) -> None:
        if getattr(request.state, "rate_limit_group", None) is not None:
            return
        token = bearer_token(request)
        wallet = state.auth.wallet_of(token) if token else None
        identity = f"wallet:{wallet}" if wallet else f"ip:{client_of(request.scope, state.settings)}"
        verdict = await state.limiter.hit(group, identity)
        if not verdict.allowed:
            raise ApiError(
                429,
                "rate_limited",
                f"too many requests; retry in {verdict.retry_after_s} s",
                headers={"Retry-After": str(verdict.retry_after_s)},
            )
        response.headers["X-RateLimit-Remaining"] = str(verdict.remaining)

    return check
