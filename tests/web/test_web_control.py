"""The dashboard's write endpoints: manual close/cancel requests reach `control.manual`; strategy
parameters are validated, persisted, published to `strategy.params`; the backtest says if it is absent."""

from __future__ import annotations

import pytest
from conftest import ClientFactory, bearer, sign_in, signed_in
from solders.keypair import Keypair

from core.settings import Settings
from solbot.audit import read_topic
from streams.broker import bootstrap_of, create_topics


@pytest.fixture
async def topics(web_settings: Settings) -> str:
    assert web_settings.broker_url is not None
    bootstrap = bootstrap_of(web_settings.broker_url)
    await create_topics(bootstrap, 1)
    return bootstrap


async def test_close_and_cancel_are_published(
    make_client: ClientFactory, owner: Keypair, topics: str
) -> None:
    async with make_client() as client:
        api = await signed_in(client, owner)
        closed = await api.post("/api/v1/orders", json={"action": "close", "pair": "SOL/USDC"})
        assert closed.status_code == 202, closed.text
        cancelled = await api.post("/api/v1/orders", json={"action": "cancel", "order_id": "ord:1"})
        assert cancelled.status_code == 202, cancelled.text
    records = {r["id"]: r for r in await read_topic(topics, "control.manual")}
    close = records[closed.json()["id"]]
    assert (close["action"], close["pair"], close["order_id"]) == ("close", "SOL/USDC", "")
    assert close["wallet"] == str(owner.pubkey()) and close["portfolio"] == "main"
    cancel = records[cancelled.json()["id"]]
    assert (cancel["action"], cancel["order_id"], cancel["pair"]) == ("cancel", "ord:1", "")


async def test_manual_orders_are_validated_and_owner_only(make_client: ClientFactory, owner: Keypair) -> None:
    async with make_client() as client:
        api = await signed_in(client, owner)
        for body in (
            {"action": "close"},
            {"action": "cancel"},
            {"action": "buy", "pair": "SOL/USDC"},
            {"action": "cancel", "order_id": "ord:\x00"},
            {"action": "cancel", "order_id": "ord:\u00e9t\u00e9"},
        ):
            response = await api.post("/api/v1/orders", json=body)
            assert response.status_code == 400, body
            assert response.json()["error"]["fields"]
        unknown = await api.post("/api/v1/orders", json={"action": "close", "pair": "NOPE/USDC"})
        assert unknown.status_code == 400
        viewer = bearer(await sign_in(client, Keypair()))
        refused = await client.post(
            "/api/v1/orders", json={"action": "close", "pair": "SOL/USDC"}, headers=viewer
        )
        assert refused.status_code == 403
        assert (
            await client.post("/api/v1/orders", json={"action": "close", "pair": "SOL/USDC"})
        ).status_code == 401


async def test_strategy_defaults_save_and_publish(
    make_client: ClientFactory, owner: Keypair, web_settings: Settings, topics: str
) -> None:
    async with make_client() as client:
        api = await signed_in(client, owner)
        headers = bearer(api.tokens)
        listed = (await client.get("/api/v1/strategy", headers=headers)).json()["strategies"]
        names = [s["name"] for s in listed]
        assert "ml_signal" in names and "grid" in names and "trend" in names, names
        ml = next(s for s in listed if s["name"] == "ml_signal")
        assert ml["stop_loss_pct"] == web_settings.stop_loss_pct and ml["updated_by"] is None
        assert next(s for s in listed if s["name"] == "grid")["grid_levels"] > 0
        body = {**ml, "stop_loss_pct": 3.5, "grid_levels": 4, "enabled": False, "pairs": ["SOL/USDC"]}
        saved = await api.put("/api/v1/strategy", json=body)
        assert saved.status_code == 200, saved.text
        strategies = (await client.get("/api/v1/strategy", headers=headers)).json()["strategies"]
        again = next(s for s in strategies if s["name"] == "ml_signal")
        assert again["stop_loss_pct"] == 3.5 and again["grid_levels"] == 4 and again["enabled"] is False
        assert again["pairs"] == ["SOL/USDC"] and again["updated_by"] == str(owner.pubkey())
    published = [r for r in await read_topic(topics, "strategy.params") if r.get("name") == "ml_signal"]
    assert published[-1]["stop_loss_pct"] == 3.5 and published[-1]["pairs"] == ["SOL/USDC"]


async def test_strategy_validation_names_the_fields(make_client: ClientFactory, owner: Keypair) -> None:
    async with make_client() as client:
        api = await signed_in(client, owner)
        bad = {
            "name": "ml_signal",
            "enabled": True,
            "max_position_pct": 0,
            "stop_loss_pct": 101,
            "take_profit_pct": 4,
            "grid_levels": -1,
            "pairs": ["SOLUSDC"],
        }
        response = await api.put("/api/v1/strategy", json=bad)
        assert response.status_code == 400
        fields = {f["field"] for f in response.json()["error"]["fields"]}
        assert fields == {"body.max_position_pct", "body.stop_loss_pct", "body.grid_levels", "body.pairs"}
        unknown = await api.put("/api/v1/strategy", json={**bad, "name": "nope"})
        assert "body.name" in {f["field"] for f in unknown.json()["error"]["fields"]}


async def test_test_button_backtests_the_parameters_on_the_sample(
    make_client: ClientFactory, owner: Keypair
) -> None:
    async with make_client() as client:
        headers = bearer(await sign_in(client, owner))
        params = (await client.get("/api/v1/strategy", headers=headers)).json()["strategies"][0]
        tight = await client.post(
            "/api/v1/strategy/test", json={**params, "max_position_pct": 0.5}, headers=headers
        )
        assert tight.status_code == 200, tight.text
        result = tight.json()["result"]
        assert result["events"] > 50_000 and result["trades"] >= 0
        assert "max_drawdown_pct" in result and "pnl_usdc" in result


async def test_dashboard_is_served_at_the_root(make_client: ClientFactory) -> None:
    async with make_client() as client:
        page = await client.get("/")
        assert page.status_code == 200 and "solbot" in page.text
        assert (await client.get("/static/app.js")).headers["content-type"].startswith("text/javascript")
        assert (await client.get("/api/v1/nope")).status_code == 404
