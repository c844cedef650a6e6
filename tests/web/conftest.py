"""Web API fixtures: a fresh migrated database per test module, a Redis db index of our own (flushed
per test), and a factory that runs the app's lifespan and hands back an httpx client."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from solders.keypair import Keypair

from core.settings import Settings, load_settings
from store.migrate import migrate
from web.api.app import create_app

WEB_REDIS_DB = 11  # other suites use db 0
SECRET = "test-secret-that-is-long-enough-for-hs256!"


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


@pytest.fixture
def owner() -> Keypair:
    return Keypair()


@pytest.fixture
def web_settings(
    web_database_url: str, redis_url: str, broker_url: str, owner: Keypair, web_redis: aioredis.Redis
) -> Settings:
    return load_settings(
        database_url=web_database_url,
        redis_url=_with_path(redis_url, f"/{WEB_REDIS_DB}"),
        broker_url=broker_url,
        owner_wallet=str(owner.pubkey()),
        jwt_secret=SECRET,
        web_domain="solbot.test",
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
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
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
