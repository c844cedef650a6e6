"""With simulated traders, Jupiter's routes are the pools they move: the bot prices an order (its minimum
out) on a pool its collectors watch, and the quote it gets must come from that pool, not from one nobody
trades (the 30 s `solbot run --live` on the sandbox failed every SOL/USDC order on slippage that way)."""

from __future__ import annotations

import httpx

from market import amm
from sandbox.world import SOL, USDC, World, WorldConfig
from tests.sandbox.helpers import eventually


async def test_with_traders_a_sol_usdc_quote_comes_from_the_pool_they_move() -> None:
    world = World(WorldConfig(slot_s=0.05, traders=1, rate_eps=50.0))
    market = [
        s
        for s in world.pools.pools.values()
        if s.venue == "raydium" and {s.base_mint, s.quote_mint} == {SOL, USDC}
    ]
    assert len(market) == 1
    pool, opening = market[0].pool, market[0].base_reserve
    await world.start()
    try:
        await eventually(lambda: world.pools.pools[pool].base_reserve != opening, timeout_s=20)
        # The traders keep swapping: a quote is checked against the pool's states just before and after it,
        # and taken again when more than one swap fell in between (a busy machine).
        amount = 100_000_000
        params = {"inputMint": USDC, "outputMint": SOL, "amount": amount, "slippageBps": 0}
        async with httpx.AsyncClient(timeout=5.0) as http:
            for _ in range(10):
                state = world.pools.pools[pool]
                quote = (await http.get(f"{world.urls['JUPITER_URL']}/swap/v1/quote", params=params)).json()
                moved = world.pools.pools[pool]
                expected = {
                    amm.quote_out(amount, p.quote_reserve, p.base_reserve, p.fee_bps) for p in (state, moved)
                }
                if int(quote["outAmount"]) in expected:
                    break
    finally:
        await world.stop()
    assert quote["routePlan"][0]["swapInfo"]["ammKey"] == pool
    assert int(quote["outAmount"]) in expected
