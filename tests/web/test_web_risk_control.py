"""The kill switch, rebalancing and cancels through the API: halt/resume reach Redis and `control`,
rebalance targets are validated then published, a cancel is marked for the sink or answered 409."""

from __future__ import annotations

import asyncpg
import pytest
import redis.asyncio as aioredis
from conftest import ClientFactory, bearer, sign_in, signed_in
from solders.keypair import Keypair

from core.settings import Settings
from solbot.audit import read_topic
from store.order_gate import cancel_key, control_key
from streams.broker import bootstrap_of, create_topics
from streams.codec import decode
from streams.records import Control


@pytest.fixture
async def topics(web_settings: Settings) -> str:
    assert web_settings.broker_url is not None
    bootstrap = bootstrap_of(web_settings.broker_url)
    await create_topics(bootstrap, 1)
    return bootstrap


async def test_halt_and_resume_set_the_fast_path_and_publish(
    make_client: ClientFactory, owner: Keypair, topics: str, web_redis: aioredis.Redis
) -> None:
    async with make_client() as client:
        api = await signed_in(client, owner)
        halted = await api.post("/api/v1/system/halt", json={"reason": "api test", "flatten": True})
        assert halted.status_code == 202, halted.text
        body = halted.json()
        assert body["action"] == "halt" and body["flatten"] is True and body["fast_path"] is True
        fast = decode(Control, (await web_redis.get(control_key("main"))).encode())
        assert (fast.id, fast.action, fast.reason) == (body["id"], "halt", "api test")
        resumed = await api.post("/api/v1/system/resume")
        assert resumed.status_code == 202, resumed.text
        fast = decode(Control, (await web_redis.get(control_key("main"))).encode())
        assert (fast.id, fast.action) == (resumed.json()["id"], "resume")
        viewer = bearer(await sign_in(client, Keypair()))
        assert (await client.post("/api/v1/system/halt", json={}, headers=viewer)).status_code == 403
        assert (await client.post("/api/v1/system/resume")).status_code == 401
        bad = await api.post("/api/v1/system/halt", json={"reason": ""})
        assert bad.status_code == 400 and bad.json()["error"]["fields"][0]["field"] == "body.reason"
    records = {r["id"]: r for r in await read_topic(topics, "control")}
    assert records[body["id"]]["action"] == "halt" and records[body["id"]]["flatten"] is True
    assert records[resumed.json()["id"]]["action"] == "resume"


async def test_rebalance_is_validated_and_published(
    make_client: ClientFactory, owner: Keypair, topics: str
) -> None:
    async with make_client() as client:
        api = await signed_in(client, owner)
        ok = await api.post(
            "/api/v1/portfolio/rebalance", json={"targets": {"JUP/USDC": 0.04, "SOL/USDC": 0.0}}
        )
        assert ok.status_code == 202, ok.text
        bad = await api.post(
            "/api/v1/portfolio/rebalance",
            json={"targets": {"JUP": 0.01, "NOPE/USDC": 0.01, "SOL/USDC": 0.06, "JUP/USDC": -0.1}},
        )
        assert bad.status_code == 400
        fields = {f["field"]: f["message"] for f in bad.json()["error"]["fields"]}
        assert fields["body.targets.JUP"] == "pair must be BASE/QUOTE"
        assert fields["body.targets.NOPE/USDC"].startswith("not a traded pair")
        assert fields["body.targets.SOL/USDC"] == "fraction 0.06 outside [0, 0.05]"  # MAX_POSITION_PCT 5
        assert fields["body.targets.JUP/USDC"] == "fraction -0.1 outside [0, 0.05]"
        many = {"JUP/USDC": 0.05, "SOL/USDC": 0.05, "BONK/SOL": 0.05}
        for body in ({"targets": {}}, {"targets": many, "reason": ""}):
            assert (await api.post("/api/v1/portfolio/rebalance", json=body)).status_code == 400
        viewer = bearer(await sign_in(client, Keypair()))
        refused = await client.post(
            "/api/v1/portfolio/rebalance", json={"targets": {"JUP/USDC": 0.01}}, headers=viewer
        )
        assert refused.status_code == 403
    records = {r["id"]: r for r in await read_topic(topics, "control")}
    sent = records[ok.json()["id"]]
    assert sent["action"] == "rebalance" and sent["targets"] == {"JUP/USDC": 0.04, "SOL/USDC": 0.0}


async def test_rebalance_fractions_must_sum_to_at_most_one(
    make_client: ClientFactory, owner: Keypair, web_settings: Settings, topics: str
) -> None:
    roomy = web_settings.model_copy(update={"max_position_pct": 100.0})
    async with make_client(settings=roomy) as client:
        api = await signed_in(client, owner)
        over = await api.post(
            "/api/v1/portfolio/rebalance", json={"targets": {"JUP/USDC": 0.7, "SOL/USDC": 0.4}}
        )
        assert over.status_code == 400
        assert over.json()["error"]["fields"] == [
            {"field": "body.targets", "message": "fractions sum to 1.1 > 1"}
        ]


async def test_cancel_marks_an_open_order_and_refuses_a_terminal_one(
    make_client: ClientFactory, owner: Keypair, topics: str, web_database_url: str, web_redis: aioredis.Redis
) -> None:
    conn = await asyncpg.connect(web_database_url)
    try:
        await conn.execute(
            """INSERT INTO orders (order_id, signal_id, portfolio, pair, side, kind, venue, pool, amount_in,
                                   min_amount_out, status, ts_ms, origin_ms, decided_ms)
               VALUES ('ord:done', 'sig:done', 'main', 'SOL/USDC', 'buy', 'entry', 'raydium', 'p', 10, 9,
                       'filled', 1, 1, 1)"""
        )
        await conn.execute(
            """INSERT INTO executions (fill_id, order_id, portfolio, pair, side, status, venue, pool,
                                       base_amount, quote_amount, fee_quote, price, base_decimals,
                                       quote_decimals, signature, ts_ms, origin_ms, filled_ms)
               VALUES ('fill:ord:done', 'ord:done', 'main', 'SOL/USDC', 'buy', 'filled', 'raydium', 'p',
                       9, 10, 0, 1.0, 9, 6, 'sig', 1, 1, 1)"""
        )
    finally:
        await conn.close()
    async with make_client() as client:
        api = await signed_in(client, owner)
        open_ = await api.post("/api/v1/orders", json={"action": "cancel", "order_id": "ord:queued"})
        assert open_.status_code == 202, open_.text
        assert (await web_redis.get(cancel_key("ord:queued"))) == f"by {owner.pubkey()}"
        assert 0 < await web_redis.ttl(cancel_key("ord:queued")) <= 86_400
        done = await api.post("/api/v1/orders", json={"action": "cancel", "order_id": "ord:done"})
        assert done.status_code == 409
        assert done.json() == {
            "error": {"code": "already_filled", "message": "order ord:done is already terminal: filled"}
        }
        assert await web_redis.get(cancel_key("ord:done")) is None
