"""The shared preflight: simulate, classify by structure (never by text), unit limit, unit price."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from solders.hash import Hash
from solders.keypair import Keypair

from chain.local import memo_ix
from chain.rpc import RpcClient
from core.errors import BlockhashNotFound, PreflightFailed
from sandbox.http import serve
from venues.fees import PriorityFeePolicy
from venues.preflight import preflight, raise_for_simulation


def test_a_simulation_error_raises_what_it_means() -> None:
    raise_for_simulation(None, "ord:1")
    with pytest.raises(BlockhashNotFound) as stale:
        raise_for_simulation("BlockhashNotFound", "ord:1")
    assert stale.value.data == "BlockhashNotFound"
    with pytest.raises(PreflightFailed) as failed:
        raise_for_simulation({"InstructionError": [2, {"Custom": 6002}]}, "ord:1")
    assert failed.value.data == {"InstructionError": [2, {"Custom": 6002}]}
    # Text that merely contains the name is something else: classification never reads messages.
    for err in (
        "TransactionErrorFieldless.BlockhashNotFound",
        {"InstructionError": [0, "BlockhashNotFound"]},
    ):
        with pytest.raises(PreflightFailed):
            raise_for_simulation(err, "ord:1")


async def test_preflight_sizes_the_budget_from_what_the_simulation_consumed() -> None:
    seen: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(body)
        value = {"err": None, "logs": [], "unitsConsumed": 60_000}
        return web.json_response(
            {"jsonrpc": "2.0", "result": {"context": {"slot": 1}, "value": value}, "id": 1}
        )

    runner, url = await serve([("POST", "/", handle)])
    rpc = RpcClient(url)
    try:
        budget = await preflight(
            rpc,
            Keypair(),
            [memo_ix("ord:1")],
            Hash.default(),
            order_id="ord:1",
            fees=PriorityFeePolicy(micro_lamports_per_unit=10_000, max_fee_lamports=100_000),
            cu_margin_bps=2_000,
        )
    finally:
        await rpc.close()
        await runner.cleanup()
    assert (budget.unit_limit, budget.unit_price) == (72_000, 10_000)
    assert [b["method"] for b in seen] == ["simulateTransaction"]
    assert seen[0]["params"][1]["sigVerify"] is False
