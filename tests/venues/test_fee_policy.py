"""The landing-driven fee policy: percentiles by urgency, the landing multiplier, the caps, the tip floor
(on the vectors of docs/protocols), its settings and its metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import REGISTRY
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from chain.rpc import RpcClient
from core.errors import ConfigError
from core.settings import load_settings
from sandbox.http import serve
from venues.fee_policy import FeeLimits, FeePolicy, TipFloor, Urgency, percentile, sol_to_lamports, urgency_of
from venues.fee_source import FixedFees, LandingFees, fee_limits, write_locked
from venues.fees import PriorityFeePolicy, TipPolicy

VECTORS = Path(__file__).parent / "vectors"
RPC = json.loads((VECTORS / "solana_rpc.json").read_text())
JITO = json.loads((VECTORS / "jito.json").read_text())
RECENT = [e["prioritizationFee"] for e in RPC["getRecentPrioritizationFees"]["response"]["result"]]


def test_percentiles_are_nearest_rank_on_the_documented_answer() -> None:
    assert RECENT == [0, 1000, 500, 0, 1234]
    assert [percentile(RECENT, p) for p in (25, 50, 75, 95, 100)] == [0, 500, 1000, 1234, 1234]
    assert percentile([7], 1) == 7
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1], 0)


def test_urgency_picks_the_percentile_and_a_stop_loss_pays_at_least_high() -> None:
    policy = FeePolicy(FeeLimits(min_unit_price=0))
    assert policy.unit_price(RECENT, Urgency.LOW) == 0
    assert policy.unit_price(RECENT) == 500  # normal: the median
    assert policy.unit_price(RECENT, Urgency.HIGH) == 1000
    assert policy.unit_price(RECENT, Urgency.URGENT) == 1234
    assert urgency_of("stop_loss", Urgency.LOW) is Urgency.HIGH
    assert urgency_of("breaker", Urgency.NORMAL) is Urgency.HIGH
    assert urgency_of("breaker", Urgency.URGENT) is Urgency.URGENT
    assert urgency_of("entry", Urgency.LOW) is Urgency.LOW


def test_defaults_stand_in_without_market_data_and_the_floor_lifts_zero_fees() -> None:
    policy = FeePolicy(
        FeeLimits(default_unit_price=10_000, min_unit_price=1_000, default_tip_lamports=10_000)
    )
    assert policy.unit_price([]) == 10_000
    assert policy.unit_price([0, 0, 0]) == 1_000
    assert policy.tip(None) == 10_000


def test_tip_floor_in_lamports_equals_the_vector() -> None:
    floor = TipFloor.parse(JITO["tip_floor"]["response"])
    expected = JITO["tip_floor"]["in_lamports_rounded_up"]
    for pct in (25, 50, 75, 95, 99):
        assert floor.at(pct) == expected[f"landed_tips_{pct}th_percentile"]
    assert floor.ema_50th == expected["ema_landed_tips_50th_percentile"]
    assert sol_to_lamports(1e-05) == 10_000  # not 10,001 from 10000.000000000002
    assert floor.at(60) == floor.at(75)  # the next published percentile up
    policy = FeePolicy()
    assert policy.tip(floor, Urgency.LOW) == 6_001
    assert policy.tip(floor) == 10_000
    assert policy.tip(floor, Urgency.URGENT) == 1_000_000  # the 95th (1,447,906) capped
    with pytest.raises(ValueError):
        TipFloor.parse([{"landed_tips_25th_percentile": "x"}])


def test_landing_below_target_raises_the_multiplier_to_its_ceiling_and_success_decays_it() -> None:
    limits = FeeLimits(landing_target=0.8, landing_window=5, step_up=0.5, decay=0.5, max_multiplier=3.0)
    policy = FeePolicy(limits)
    assert policy.landing_rate() is None and policy.multiplier == 1.0
    policy.record(False)
    assert policy.multiplier == 1.5 and policy.landing_rate() == 0.0
    policy.record(False)
    policy.record(False)
    assert policy.multiplier == 3.0  # 1.5 -> 2.25 -> 3.375, capped
    assert policy.unit_price([2_000]) == 6_000
    assert policy.tip(None) == 30_000
    for _ in range(5):
        policy.record(True)
    assert policy.landing_rate() == 1.0  # the window holds the last five only
    assert policy.multiplier < 3.0
    for _ in range(10):
        policy.record(True)
    assert policy.multiplier == 1.0  # never below the market


def test_caps_bound_the_price_the_whole_fee_and_the_tip() -> None:
    limits = FeeLimits(max_unit_price=50_000, max_priority_fee_lamports=1_000, max_tip_lamports=20_000)
    policy = FeePolicy(limits)
    assert policy.unit_price([10**9]) == 50_000
    priority = policy.priority([10**9])
    assert priority.unit_price(200_000) == 5_000  # 1,000 lamports over 200k CU
    assert priority.unit_price(10_000) == 50_000  # the per-CU cap binds first
    floor = TipFloor({25: 500, 50: 800, 75: 10**8, 95: 10**8, 99: 10**8}, 800)
    assert policy.tip(floor, Urgency.LOW) == 1_000  # Jito's minimum
    assert policy.tip(floor, Urgency.HIGH) == 20_000
    with pytest.raises(ValueError):
        FeeLimits(min_unit_price=10, max_unit_price=5)
    with pytest.raises(ValueError):
        FeeLimits(max_tip_lamports=999)


def test_settings_are_typed_validated_and_map_onto_the_limits() -> None:
    settings = load_settings(
        fee_urgency="high",
        priority_fee_max_micro_lamports=70_000,
        priority_fee_max_lamports=5_000,
        jito_tip_max_lamports=50_000,
        fee_landing_target=0.75,
        fee_landing_window=10,
    )
    limits = fee_limits(settings)
    assert limits.urgency is Urgency.HIGH and limits.max_unit_price == 70_000
    assert (limits.max_priority_fee_lamports, limits.max_tip_lamports) == (5_000, 50_000)
    assert (limits.landing_target, limits.landing_window) == (0.75, 10)
    with pytest.raises(ConfigError, match="FEE_URGENCY"):
        load_settings(fee_urgency="asap")
    with pytest.raises(ConfigError, match="JITO_TIP_MAX_LAMPORTS"):
        load_settings(jito_tip_max_lamports=10)
    with pytest.raises(ConfigError, match="PRIORITY_FEE_MIN_MICRO_LAMPORTS"):
        load_settings(priority_fee_min_micro_lamports=10, priority_fee_max_micro_lamports=5)


def test_write_locked_accounts_are_the_fee_market_of_a_transaction() -> None:
    signer, a, b, ro = (Pubkey.new_unique() for _ in range(4))
    ix1 = Instruction(
        Pubkey.new_unique(), b"", [AccountMeta(signer, True, True), AccountMeta(a, False, True)]
    )
    ix2 = Instruction(Pubkey.new_unique(), b"", [AccountMeta(ro, False, False), AccountMeta(b, False, True)])
    ix3 = Instruction(Pubkey.new_unique(), b"", [AccountMeta(a, False, True)])
    assert write_locked([ix1, ix2, ix3]) == [a, b]


async def test_fixed_fees_are_the_old_behaviour() -> None:
    fixed = FixedFees(PriorityFeePolicy(10_000), TipPolicy(10_000))
    assert (await fixed.priority([], "entry")).micro_lamports_per_unit == 10_000
    assert await fixed.tip("stop_loss") == 10_000
    fixed.observe_landing(False)


def _sample(name: str, venue: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"venue": venue})


async def test_landing_fees_read_the_market_and_export_what_they_chose() -> None:
    asked: list[Any] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        asked.append(body["params"])
        return web.json_response(
            {
                "jsonrpc": "2.0",
                "result": RPC["getRecentPrioritizationFees"]["response"]["result"],
                "id": body["id"],
            }
        )

    floor = TipFloor.parse(JITO["tip_floor"]["response"])
    reads: list[int] = []

    async def read_floor() -> TipFloor:
        reads.append(1)
        return floor

    runner, url = await serve([("POST", "/", handle)])
    rpc = RpcClient(url)
    now = [0.0]
    venue = "test-fees"
    fees = LandingFees(
        rpc,
        FeePolicy(FeeLimits(min_unit_price=0, landing_window=4)),
        venue=venue,
        tip_floor=read_floor,
        clock=lambda: now[0],
    )
    market = Pubkey.new_unique()
    body = [Instruction(Pubkey.new_unique(), b"", [AccountMeta(market, False, True)])]
    try:
        assert (await fees.priority(body, "entry")).micro_lamports_per_unit == 500
        assert (await fees.priority(body, "stop_loss")).micro_lamports_per_unit == 1_000
        assert await fees.tip("entry") == 10_000
        assert await fees.tip("entry") == 10_000
        assert len(reads) == 1  # the floor is kept for its TTL
        now[0] = 11.0
        await fees.tip("entry")
        assert len(reads) == 2
    finally:
        await rpc.close()
        await runner.cleanup()
    assert asked[0] == [[str(market)]]
    assert _sample("solbot_fee_unit_price_micro_lamports", venue) == 1_000
    assert _sample("solbot_fee_market_unit_price_micro_lamports", venue) == 1_000
    assert _sample("solbot_fee_tip_lamports", venue) == 10_000
    assert _sample("solbot_fee_tip_floor_lamports", venue) == 10_000
    fees.observe_landing(False)
    fees.observe_landing(True)
    assert _sample("solbot_fee_landing_rate", venue) == 0.5
    assert _sample("solbot_fee_multiplier", venue) == fees.policy.multiplier > 1.0
    assert REGISTRY.get_sample_value("solbot_fee_landings_total", {"venue": venue, "landed": "false"}) == 1


async def test_landing_fees_fall_back_to_the_defaults_when_the_market_cannot_be_read() -> None:
    async def broken_floor() -> TipFloor:
        raise ValueError("tip floor: not JSON")

    rpc = RpcClient("http://127.0.0.1:9", timeout_s=0.2)  # nothing listens there
    fees = LandingFees(
        rpc, FeePolicy(FeeLimits(default_unit_price=7_000)), venue="test-down", tip_floor=broken_floor
    )
    try:
        assert (await fees.priority([], "entry")).micro_lamports_per_unit == 7_000
        assert await fees.tip("entry") == 10_000
    finally:
        await rpc.close()
