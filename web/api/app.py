"""`create_app(settings)`: the FastAPI service. The lifespan opens Postgres and Redis (and checks both
before serving), starts the bridge's producers, and closes everything on the way out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis
from aiokafka.errors import KafkaError
from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from redis.exceptions import RedisError

from core.errors import ConfigError, ServiceError
from core.settings import Settings
from store.db import create_pool
from store.roles import grant_first_owner, grant_role, role_of
from streams.broker import bootstrap_of, create_topics
from streams.broker_auth import NO_AUTH, BrokerAuth, broker_auth
from wallet import dev_key
from web.api.backtest_jobs import BacktestJobs
from web.api.deps import ApiState
from web.api.docs import mount_docs
from web.api.errors import ErrorResponse, install_error_handlers
from web.api.guards import BodyLimit, EdgeRateLimit, SecurityHeaders
from web.api.live import poll_redis, pump_topics
from web.api.local_signin import LocalSigner, local_sign_in_enabled
from web.api.publisher import Publisher
from web.api.ratelimit import Limit, RateLimiter
from web.api.request_signing import RequestVerifier
from web.api.routes import (
    alerts,
    auth,
    backtests,
    control,
    local,
    market_data,
    metrics,
    portfolio,
    roles,
    strategy,
    system,
    trades,
    ws,
)
from web.api.security import AuthConfig, Authenticator
from web.bridge import DEFAULT_QUEUE_SIZE, Bridge

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
DASHBOARD_DIR = Path(__file__).resolve().parent.parent / "dashboard"
VENDOR_DIR = DASHBOARD_DIR / "node_modules" / "lightweight-charts" / "dist"


def _signing_key(settings: Settings) -> bytes:
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value().encode("utf-8")
    if settings.environment != "development":  # settings refuse this already; never sign with a guess
        raise ConfigError("bad setting JWT_SECRET: must be set outside development")
    log.warning("JWT_SECRET not set: using a random per-process key (tokens end when the API restarts)")
    return secrets.token_bytes(32)


def create_app(
    settings: Settings,
    *,
    auth_config: AuthConfig | None = None,
    rate_limits: dict[str, Limit] | None = None,
    live_bridge: bool = True,
    queue_size: int = DEFAULT_QUEUE_SIZE,
) -> FastAPI:
    """Build the app; nothing is opened until the lifespan starts (tests may inject TTLs and limits)."""
    if settings.database_url is None or settings.redis_url is None:
        raise ConfigError("bad setting DATABASE_URL/REDIS_URL: the web API needs both")
    key = _signing_key(settings)
    database_url, redis_url = settings.database_url, settings.redis_url
    lifetimes = auth_config or AuthConfig(
        access_ttl_s=settings.web_access_ttl_s,
        session_ttl_s=settings.web_session_ttl_s,
        nonce_ttl_s=settings.web_nonce_ttl_s,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(database_url, min_size=1, max_size=8)
        redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
        tasks: list[asyncio.Task[None]] = []
        publisher = _publisher(settings)
        try:
            try:
                await redis.ping()
            except (RedisError, OSError) as exc:
                raise ServiceError(f"cannot reach Redis: {exc}") from exc
            bridge = Bridge(queue_size)
            app.state.api = ApiState(
                settings=settings,
                pool=pool,
                redis=redis,
                auth=authenticator(settings, pool, redis, key, lifetimes),
                limiter=RateLimiter(redis, rate_limits),
                bridge=bridge,
                signer=RequestVerifier(redis, settings.web_signature_window_s),
                publisher=publisher,
            )
            await bootstrap_owner(pool, settings.owner_wallet)
            await open_dashboard_extras(app.state.api, settings)
            await ensure_topics(settings)
            if live_bridge:
                tasks.extend(start_bridge(bridge, redis, settings.broker_url, broker_auth(settings)))
            yield
        finally:
            await close_dashboard_extras(getattr(app.state, "api", None))
            await stop_tasks(tasks)
            if publisher is not None:
                await publisher.stop()
            await redis.aclose()
            try:
                async with asyncio.timeout(5.0):  # a connection still checked out must not hold Ctrl-C
                    await pool.close()
            except TimeoutError:
                pool.terminate()

    app = FastAPI(
        title="solbot API",
        version="1",
        summary="Read the autonomous Solana DEX trading bot's portfolio, trades, market data and alerts.",
        description=(
            "Sign in with a Solana wallet: `POST /api/v1/auth/nonce`, sign the returned message, then "
            "`POST /api/v1/auth/verify`. Send the access token as `Authorization: Bearer <token>`. "
            'Errors are `{"error": {"code", "message", "fields"?}}`.'
        ),
        lifespan=lifespan,
        responses={500: {"model": ErrorResponse}},
        docs_url=None,  # web.api.docs serves them: local assets, behind sign-in outside development
        redoc_url=None,
        openapi_url=None,
    )
    install_error_handlers(app)
    include_routes(app)
    mount_docs(app, settings)
    mount_dashboard(app)
    install_guards(app, settings)
    return app


def authenticator(
    settings: Settings, pool: asyncpg.Pool, redis: aioredis.Redis, key: bytes, lifetimes: AuthConfig
) -> Authenticator:
    """Sign-in and sessions, with each wallet's role read from Postgres on every check."""

    async def roles(wallet: str) -> str | None:
        return await role_of(pool, wallet)

    return Authenticator(redis, key=key, roles=roles, chain_id=settings.web_chain_id, config=lifetimes)


async def open_dashboard_extras(api: ApiState, settings: Settings) -> None:
    """The local sign-in (where it may be on) and the backtests run from the page."""
    api.local = await local_owner(settings, api.pool)
    api.backtests = BacktestJobs(settings.data_dir / "reports")


async def close_dashboard_extras(api: ApiState | None) -> None:
    """A backtest still running is stopped with the API (its child killed)."""
    if api is not None and api.backtests is not None:
        await api.backtests.stop()


async def local_owner(settings: Settings, pool: asyncpg.Pool) -> LocalSigner | None:
    """The development key as an owner, for the dashboard's local sign-in, where that may be on
    (`local_sign_in_enabled`); elsewhere None, and a warning when the key still holds a role."""
    path = dev_key.dev_key_path(settings.data_dir)
    if not local_sign_in_enabled(settings):
        wallet = dev_key.address_if_present(settings.data_dir)
        if wallet is not None and (role := await role_of(pool, wallet)):
            log.warning(
                "the development key %s still holds role %s; local sign-in is off here, so revoke it: "
                "`solbot roles revoke <its address>`", path, role,
            )  # fmt: skip
        return None
    signer = LocalSigner.for_this_user(await asyncio.to_thread(dev_key.load_or_create, settings.data_dir))
    if await role_of(pool, signer.wallet) != "owner":
        await grant_role(pool, signer.wallet, "owner", actor="development-key", source="cli")
        log.warning("development key %s made an owner for the local sign-in (%s)", signer.wallet, path)
    return signer


async def bootstrap_owner(pool: asyncpg.Pool, owner_wallet: str | None) -> None:
    """A database with no owner yet makes OWNER_WALLET its first owner (audited); once any owner exists
    the setting grants nothing: roles are changed by an owner (API or `solbot roles`)."""
    if owner_wallet is not None and await grant_first_owner(
        pool, owner_wallet, actor="setting:OWNER_WALLET", source="cli"
    ):
        log.warning("%s made the first owner (OWNER_WALLET)", owner_wallet)


def install_guards(app: FastAPI, settings: Settings) -> None:
    """The edge, outermost last: headers on every answer (429 and 413 included), then the body limit,
    then the endpoint's rate limit, all before routing and authentication."""
    app.add_middleware(EdgeRateLimit, settings=settings)
    app.add_middleware(BodyLimit, max_bytes=settings.web_max_body_bytes)
    app.add_middleware(SecurityHeaders, settings=settings)


async def ensure_topics(settings: Settings) -> None:
    """Before anything consumes: a broker that auto-creates a topic on first use would give it its own
    default partition count, and the workers would then refuse it."""
    if settings.broker_url is None:
        return
    try:
        await create_topics(
            bootstrap_of(settings.broker_url), settings.topic_partitions, broker_auth(settings)
        )
    except (KafkaError, OSError) as exc:
        log.warning("topics not created (broker unreachable?): %s", exc)


def _publisher(settings: Settings) -> Publisher | None:
    """The control publisher, signed in as the broker settings say; None without a broker."""
    if settings.broker_url is None:
        return None
    return Publisher(settings.broker_url, auth=broker_auth(settings))


async def stop_tasks(tasks: list[asyncio.Task[None]], timeout_s: float = 5.0) -> None:
    """Cancel the bridge's feeds and wait a bounded time: a feed that swallowed its cancel inside a
    client library must not hold Ctrl-C."""
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    done, pending = await asyncio.wait(tasks, timeout=timeout_s)
    for task in done:
        if not task.cancelled() and task.exception() is not None:  # retrieved: said once, here
            log.warning("the %s feed had failed: %r", task.get_name(), task.exception())
    for task in pending:
        log.warning("the %s feed did not stop within %.0f s; leaving it", task.get_name(), timeout_s)


def start_bridge(
    bridge: Bridge, redis: aioredis.Redis, broker_url: str | None, auth: BrokerAuth = NO_AUTH
) -> list[asyncio.Task[None]]:
    """The live bridge's feeds: Redis' latest prices, and the topics when there is a broker."""
    tasks = [asyncio.create_task(poll_redis(bridge, redis), name="bridge-redis")]
    if broker_url is not None:
        tasks.append(asyncio.create_task(pump_topics(bridge, broker_url, auth=auth), name="bridge-kafka"))
    return tasks


def include_routes(app: FastAPI) -> None:
    """The versioned API's routers, the WebSocket, the metrics endpoint and its request timer."""
    api = APIRouter(prefix=API_PREFIX)
    modules = (
        local,
        auth,
        portfolio,
        trades,
        market_data,
        system,
        alerts,
        control,
        strategy,
        roles,
        backtests,
    )
    for module in modules:
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(backtests.reports)
    app.include_router(ws.router)
    app.include_router(metrics.router)
    app.middleware("http")(metrics.observe_requests)


def mount_dashboard(app: FastAPI) -> None:
    """The dashboard: its page at `/`, its files at `/static`, the chart library at `/vendor`.

    Prefixed mounts rather than one mount at `/`, so routes added after `create_app` still answer.
    The library is installed by `make web-assets` (npm), never committed; without it the page still
    loads and its chart panel says how to install it.
    """
    index = DASHBOARD_DIR / "index.html"

    @app.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(index, media_type="text/html")

    app.mount("/static", StaticFiles(directory=DASHBOARD_DIR), name="dashboard")
    if VENDOR_DIR.is_dir():
        app.mount("/vendor", StaticFiles(directory=VENDOR_DIR), name="vendor")
    else:
        log.warning("chart library missing (%s): run `make web-assets`", VENDOR_DIR)
