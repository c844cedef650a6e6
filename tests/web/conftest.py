"""Web API fixtures: a fresh migrated database per test module, a Redis db index of our own (flushed
per test), and a factory that runs the app's lifespan and hands back an httpx client."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from solders.keypair import Keypair

from core.settings import Settings, load_settings
from store.db import create_pool
from store.migrate import migrate
from store.roles import grant_role
from web.api.app import create_app
from web.api.request_signing import request_message

WEB_REDIS_DB = 11  # other suites use db 0
SECRET = "test-secret-that-is-long-enough-for-hs256!"
DOMAIN = "solbot.test"


def _with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


@pytest.fixture(scope="module")
async def web_database_url(database_url: str) -> AsyncIterator[str]:
    name = f"web_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = _with_path(database_url, f"/{name}")
        await migrate(url)
        yield url
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def web_redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(_with_path(redis_url, f"/{WEB_REDIS_DB}"), decode_responses=True)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(scope="module")
def owner() -> Keypair:
    """OWNER_WALLET: made the first owner of the module's database when the app first starts."""
    return Keypair()


@pytest.fixture
def web_settings(
    web_database_url: str,
    redis_url: str,
    broker_url: str,
    owner: Keypair,
    web_redis: aioredis.Redis,
    tmp_path: Path,
) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",  # backtest reports and keys of a test stay in its tmp dir
        database_url=web_database_url,
        redis_url=_with_path(redis_url, f"/{WEB_REDIS_DB}"),
        broker_url=broker_url,
        owner_wallet=str(owner.pubkey()),
        jwt_secret=SECRET,
        web_domain=DOMAIN,
    )


ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def make_client(web_settings: Settings) -> ClientFactory:
    """`async with make_client(**create_app_kwargs) as client`: the app with its lifespan running."""

    @asynccontextmanager
    async def factory(**kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
        kwargs.setdefault("live_bridge", False)
        app = create_app(kwargs.pop("settings", web_settings), **kwargs)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url=f"http://{DOMAIN}") as client:
                client.app = app  # type: ignore[attr-defined]
                yield client

    return factory


async def sign_in(client: httpx.AsyncClient, keypair: Keypair) -> dict[str, Any]:
    """The whole wallet sign-in: nonce, sign the message with the keypair, verify."""
    wallet = str(keypair.pubkey())
    issued = (await client.post("/api/v1/auth/nonce", json={"wallet": wallet})).json()
    signature = keypair.sign_message(issued["message"].encode())
    response = await client.post(
        "/api/v1/auth/verify",
        json={"wallet": wallet, "message": issued["message"], "signature": str(signature)},
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def signed(
    keypair: Keypair,
    tokens: dict[str, Any],
    method: str,
    path: str,
    body: Any = None,
    *,
    nonce: str | None = None,
    timestamp_ms: int | None = None,
    domain: str = DOMAIN,
) -> dict[str, Any]:
    """`client.request(**signed(...))` keyword arguments: the bearer token, the exact JSON body bytes and
    the wallet's signature over the request (`web.api.request_signing`), as the dashboard sends them."""
    content = b"" if body is None else json.dumps(body).encode()
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    once = nonce or secrets.token_urlsafe(16)
    message = request_message(domain, method, path, content, ts, once)
    headers = {
        **bearer(tokens),
        "Content-Type": "application/json",
        "X-Solbot-Timestamp": str(ts),
        "X-Solbot-Nonce": once,
        "X-Solbot-Signature": str(keypair.sign_message(message.encode())),
    }
    return {"method": method, "url": path, "content": content, "headers": headers}


async def grant(database_url: str, wallet: Keypair | str, role: str) -> None:
    """Give a wallet a role as the CLI would (audited)."""
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        await grant_role(pool, str(wallet.pubkey()) if isinstance(wallet, Keypair) else wallet, role,  # type: ignore[arg-type]
                         actor="cli:test", source="cli")  # fmt: skip
    finally:
        await pool.close()


class SignedClient:
    """Calls the trading endpoints as the dashboard does: the bearer token plus the wallet's signature
    over each request; reads go through the bearer token alone."""

    def __init__(self, client: httpx.AsyncClient, keypair: Keypair, tokens: dict[str, Any]) -> None:
        self.client = client
        self.keypair = keypair
        self.tokens = tokens

    async def send(self, method: str, url: str, json: Any = None) -> httpx.Response:
        return await self.client.request(**signed(self.keypair, self.tokens, method, url, json))

    async def post(self, url: str, json: Any = None) -> httpx.Response:
        return await self.send("POST", url, json)

    async def put(self, url: str, json: Any = None) -> httpx.Response:
        return await self.send("PUT", url, json)

    async def delete(self, url: str) -> httpx.Response:
        return await self.send("DELETE", url)

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(url, headers=bearer(self.tokens), **kwargs)


async def signed_in(client: httpx.AsyncClient, keypair: Keypair) -> SignedClient:
    return SignedClient(client, keypair, await sign_in(client, keypair))


@pytest.fixture
async def viewer(web_database_url: str) -> Keypair:
    """A wallet the owner granted `viewer`: may read, never trade, never see orders before they execute."""
    keypair = Keypair()
    await grant(web_database_url, keypair, "viewer")
    return keypair
