"""A sandbox world per test, on a fast clock (10 ms slots) with mainnet's 150-block blockhash window."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from chain.rpc import RpcClient
from sandbox.world import World, WorldConfig
from tests.venues.conftest import venue_db  # noqa: F401  (the end-to-end tests book orders in Postgres)

FAST_SLOT_S = 0.01


@pytest.fixture
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    overrides = getattr(request, "param", {})
    running = World(WorldConfig(slot_s=FAST_SLOT_S, jito_min_gap_s=0.2, **overrides))
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def rpc(world: World) -> AsyncIterator[RpcClient]:
    async with httpx.AsyncClient(timeout=5.0) as http:
        yield RpcClient(world.urls["SOLANA_RPC_URL"], client=http)
