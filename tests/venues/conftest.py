"""Venue fixtures: a fresh migrated database per test on the session's embedded PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from store.db import create_pool
from store.migrate import migrate


@pytest.fixture
async def venue_db(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    name = f"test_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
        await migrate(url)
        pool = await create_pool(url, min_size=2, max_size=10)
        try:
            yield pool
        finally:
            await pool.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
