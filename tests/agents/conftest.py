"""Fixtures of the runners' tests that need a database (a fresh migrated one per test), and of the live
execution tests, which trade in a sandbox world and book in a fresh database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from store.db import create_pool
from store.migrate import migrate
from tests.sandbox.conftest import world  # noqa: F401  (a sandbox world per test, 10 ms slots)
from tests.venues.conftest import venue_db  # noqa: F401


@pytest.fixture
async def migrated_url(database_url: str) -> AsyncIterator[str]:
    name = f"test_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
        await migrate(url)
        yield url
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def migrated_pool(migrated_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(migrated_url)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """One HTTP client for a live test's RPC, Jupiter and Jito calls."""
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client
