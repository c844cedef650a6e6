"""The API's edge acted out: security headers, docs and metrics exposure, spoofed X-Forwarded-For,
rate limits counted before authentication (and the kill switch's own budget), body size, bad input.
Every attack is refused with a 4xx, never a 5xx."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from conftest import DOMAIN, bearer, sign_in, signed_in
from pydantic import SecretStr
from solders.keypair import Keypair

from core.settings import Settings
from streams.broker import bootstrap_of, create_topics
from web.api.app import create_app
from web.api.ratelimit import DEFAULT_LIMITS, Limit

ROOMY = {group: Limit(10_000) for group in DEFAULT_LIMITS}


@asynccontextmanager
async def edge_client(
    settings: Settings, peer: str = "127.0.0.1", **kwargs: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan, reached from `peer` (the TCP address the server would see)."""
    app = create_app(settings, live_bridge=False, **kwargs)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{DOMAIN}") as client:
            yield client


def with_(settings: Settings, **update: Any) -> Settings:
    return settings.model_copy(update=update)


async def test_security_headers_on_every_answer(web_settings: Settings) -> None:
    async with edge_client(web_settings) as client:
        for response in (await client.get("/"), await client.get("/api/v1/auth/me")):
            headers = response.headers
            csp = headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
            assert not re.search(r"https?:|\*", csp), csp  # no external origin, no wildcard
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "no-referrer"
            assert headers["x-frame-options"] == "DENY"
            assert "strict-transport-security" not in headers  # plain HTTP: HSTS would be ignored
    async with edge_client(with_(web_settings, web_tls=True)) as client:
        hsts = (await client.get("/api/v1/auth/me")).headers["strict-transport-security"]
        assert hsts.startswith("max-age=31536000")


async def test_docs_local_and_behind_sign_in_outside_development(
    web_settings: Settings, owner: Keypair
) -> None:
    production = with_(web_settings, environment="production")
    async with edge_client(production, rate_limits=ROOMY) as client:
        assert (await client.get("/openapi.json")).status_code == 401
        assert (
            await client.get("/openapi.json", headers={"Authorization": "Bearer forged"})
        ).status_code == 401
        tokens = await sign_in(client, owner)
        document = await client.get("/openapi.json", headers=bearer(tokens))
        assert document.status_code == 200 and document.json()["info"]["title"] == "solbot API"
        page = await client.get("/docs")
        assert page.status_code == 200
        assert not re.search(r"(src|href)=\"https?:", page.text), page.text  # no CDN
        assert (await client.get("/docs-assets/swagger-ui-bundle.js")).status_code == 200
        assert (await client.get("/static/docs.js")).status_code == 200
    async with edge_client(web_settings) as client:  # development: open
        assert (await client.get("/openapi.json")).status_code == 200


async def test_metrics_loopback_or_token_only(web_settings: Settings) -> None:
    token = "metrics-token-long-enough-0123456789"
    settings = with_(web_settings, metrics_token=SecretStr(token))
    async with edge_client(settings) as local:
        assert (await local.get("/metrics")).status_code == 200
        proxied = await local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert proxied.status_code == 403  # a local proxy forwarding the world is not loopback
    async with edge_client(settings, peer="203.0.113.5") as remote:
        assert (await remote.get("/metrics")).status_code == 403
        wrong = await remote.get("/metrics", headers={"Authorization": "Bearer " + "x" * len(token)})
        assert wrong.status_code == 403
        right = await remote.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert right.status_code == 200 and "solbot_api_requests_total" in right.text


async def nonce_statuses(client: httpx.AsyncClient, forwarded: list[str]) -> list[int]:
    wallet = str(Keypair().pubkey())
    return [
        (
            await client.post("/api/v1/auth/nonce", json={"wallet": wallet}, headers={"X-Forwarded-For": xff})
        ).status_code
        for xff in forwarded
    ]


async def test_spoofed_forwarded_for_from_untrusted_peer_is_ignored(web_settings: Settings) -> None:
    limits = {"auth": Limit(5)}
    spoofed = [f"198.51.100.{i}" for i in range(8)]
    async with edge_client(web_settings, peer="127.0.0.1", rate_limits=limits) as client:
        # No trusted proxy configured: loopback is a client like any other, its header a claim.
        assert await nonce_statuses(client, spoofed) == [200] * 5 + [429] * 3


async def test_forwarded_for_from_trusted_proxy_takes_rightmost_untrusted_hop(web_settings: Settings) -> None:
    settings = with_(web_settings, web_trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),))
    limits = {"auth": Limit(3)}
    async with edge_client(settings, peer="10.1.2.3", rate_limits=limits) as client:
        # Each real client has its own bucket behind the proxy...
        assert await nonce_statuses(client, ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) == [200] * 3
        # ...and a client writing its own X-Forwarded-For gains nothing: the proxy appended its real
        # address, the rightmost untrusted hop, whatever it put to the left.
        lies = [f"192.0.2.{i}, 203.0.113.7, 10.9.9.9" for i in range(5)]
        assert await nonce_statuses(client, lies) == [200] * 3 + [429] * 2


async def test_limits_apply_before_authentication(web_settings: Settings) -> None:
    async with edge_client(web_settings, peer="198.51.100.20", rate_limits={"default": Limit(4)}) as client:
        statuses = [
            (await client.get("/api/v1/trades", headers={"Authorization": f"Bearer forged.{i}"})).status_code
            for i in range(7)
        ]
    assert statuses == [401] * 4 + [429] * 3
    # the portfolio's own budget (the spec's 100/min), not the default one
    async with edge_client(web_settings, peer="198.51.100.21") as client:
        response = await client.get("/api/v1/portfolio")
        assert response.status_code == 401 and response.headers["x-ratelimit-remaining"] == "99"


async def test_kill_switch_has_its_own_budget(web_settings: Settings, owner: Keypair) -> None:
    assert web_settings.broker_url is not None
    await create_topics(bootstrap_of(web_settings.broker_url), 1)
    limits = {"orders": Limit(2), "kill_switch": Limit(3)}
    async with edge_client(web_settings, rate_limits=limits) as client:
        api = await signed_in(client, owner)
        orders = [
            (await api.post("/api/v1/orders", json={"action": "close", "pair": "SOL/USDC"})).status_code
            for _ in range(3)
        ]
        assert orders == [202, 202, 429]
        halted = await api.post("/api/v1/system/halt", json={"reason": "flood"})
        assert halted.status_code == 202, halted.text  # the orders flood did not spend the kill switch
        resumed = await api.post("/api/v1/system/resume")
        assert resumed.status_code == 202, resumed.text


async def test_bad_input_is_a_4xx(web_settings: Settings, owner: Keypair) -> None:
    async with edge_client(web_settings, rate_limits=ROOMY) as client:
        api = await signed_in(client, owner)
        headers = bearer(api.tokens)
        for query in ("cursor=9223372036854775808", "since_ms=1e23", "since_ms=9223372036854775808"):
            response = await client.get(f"/api/v1/trades?{query}", headers=headers)
            assert response.status_code == 400, (query, response.text)
            assert response.json()["error"]["fields"]
        flatten = await api.post("/api/v1/system/halt", json={"reason": "x", "flatten": "yes"})
        assert flatten.status_code == 400 and flatten.json()["error"]["fields"][0]["field"] == "body.flatten"
        targets = {f"P{i}/USDC": 0.01 for i in range(20_000)}
        rebalance = await api.post("/api/v1/portfolio/rebalance", json={"targets": targets})
        assert rebalance.status_code == 413  # ~400 KB: over the body limit before anything parses it
        roomy = with_(web_settings, web_max_body_bytes=4 * 1024 * 1024)
    async with edge_client(roomy, rate_limits=ROOMY) as client:
        api = await signed_in(client, owner)
        headers = bearer(api.tokens)
        rebalance = await api.post("/api/v1/portfolio/rebalance", json={"targets": targets})
        assert rebalance.status_code == 400 and len(rebalance.content) < 2_000, len(rebalance.content)
        bad_values = {f"P{i}/USDC": "x" for i in range(200)}
        many = await api.post("/api/v1/portfolio/rebalance", json={"targets": bad_values})
        assert many.status_code == 400 and len(many.json()["error"]["fields"]) == 20
        assert len(many.content) < 4_000


async def test_body_over_the_limit_is_413_declared_or_streamed(
    web_settings: Settings, owner: Keypair
) -> None:
    async with edge_client(web_settings, rate_limits=ROOMY) as client:
        big = b'{"wallet": "' + b"A" * 70_000 + b'"}'
        declared = await client.post(
            "/api/v1/auth/nonce", content=big, headers={"Content-Type": "application/json"}
        )
        assert declared.status_code == 413 and declared.json()["error"]["code"] == "payload_too_large"

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(40):
                yield b" " * 4096  # no Content-Length: the limit counts what arrives

        streamed = await client.post(
            "/api/v1/auth/nonce", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413, (streamed.text, streamed.request.headers)
        assert "content-security-policy" in streamed.headers
