"""Issue 19's identity attacks, acted out against real Postgres and Redis; each is refused with a 4xx.

Fresh wallets reading, unsigned/forged/replayed trading calls, refresh-token reuse, forged Redis records,
sign-ins for another domain, and the audit log's append-only guard.
"""

from __future__ import annotations

import hashlib
import json
import time

import asyncpg
import pytest
import redis.asyncio as aioredis
from conftest import DOMAIN, ClientFactory, bearer, grant, sign_in, signed, signed_in
from solders.keypair import Keypair

from core.errors import ConfigError
from core.settings import Settings, load_settings
from streams.broker import bootstrap_of, create_topics

READS = (
    "/api/v1/portfolio",
    "/api/v1/trades",
    "/api/v1/alerts",
    "/api/v1/system/status",
    "/api/v1/market-data",
    "/api/v1/strategy",
    "/api/v1/roles",
    "/api/v1/audit",
)
TRADING = (
    ("POST", "/api/v1/orders", {"action": "close", "pair": "SOL/USDC"}),
    ("POST", "/api/v1/system/halt", {"reason": "x", "flatten": True}),
    ("POST", "/api/v1/system/resume", None),
    ("POST", "/api/v1/portfolio/rebalance", {"targets": {"SOL/USDC": 0.01}}),
)


@pytest.fixture
async def topics(web_settings: Settings) -> str:
    assert web_settings.broker_url is not None
    bootstrap = bootstrap_of(web_settings.broker_url)
    await create_topics(bootstrap, 1)
    return bootstrap


async def _audit_rows(database_url: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(
            await conn.fetch("SELECT actor, source, action, target, detail FROM audit_log ORDER BY id")
        )
    finally:
        await conn.close()


async def test_a_freshly_signed_in_wallet_reads_nothing(make_client: ClientFactory) -> None:
    async with make_client() as client:
        stranger = await sign_in(client, Keypair())
        me = (await client.get("/api/v1/auth/me", headers=bearer(stranger))).json()
        assert me["role"] is None and me["permissions"] == []
        for path in READS:
            response = await client.get(path, headers=bearer(stranger))
            assert response.status_code == 403, (path, response.text)
            assert response.json()["error"]["code"] == "forbidden"


async def test_a_viewer_reads_but_never_trades_nor_sees_roles(
    make_client: ClientFactory, viewer: Keypair
) -> None:
    async with make_client() as client:
        api = await signed_in(client, viewer)
        for path in READS[:5]:
            assert (await api.get(path)).status_code == 200, path
        for path in ("/api/v1/strategy", "/api/v1/roles", "/api/v1/audit"):
            assert (await api.get(path)).status_code == 403, path
        for method, path, body in TRADING:  # signed, even: the role is what is missing
            assert (await api.send(method, path, body)).status_code == 403, path


async def test_trading_needs_the_wallet_signature(
    make_client: ClientFactory, owner: Keypair, topics: str
) -> None:
    async with make_client() as client:
        tokens = await sign_in(client, owner)
        for method, path, body in [*TRADING, ("PUT", "/api/v1/strategy", {"name": "x"})]:
            # The JWT alone: refused before anything is published.
            bare = await client.request(method, path, json=body, headers=bearer(tokens))
            assert bare.status_code == 401, (path, bare.text)
            assert bare.json()["error"]["code"] == "signature_required"
        order = {"action": "close", "pair": "SOL/USDC"}
        forged = signed(Keypair(), tokens, "POST", "/api/v1/orders", order)  # another key signed
        assert (await client.request(**forged)).json()["error"]["code"] == "bad_signature"
        tampered = signed(owner, tokens, "POST", "/api/v1/orders", order)
        tampered["content"] = json.dumps({"action": "close", "pair": "JUP/USDC"}).encode()  # body swapped
        assert (await client.request(**tampered)).status_code == 401
        moved = signed(owner, tokens, "POST", "/api/v1/system/resume", order)
        moved["url"] = "/api/v1/orders"  # a signature for another path
        assert (await client.request(**moved)).status_code == 401
        elsewhere = signed(owner, tokens, "POST", "/api/v1/orders", order, domain="other.example")
        assert (await client.request(**elsewhere)).status_code == 401
        stale = signed(
            owner, tokens, "POST", "/api/v1/orders", order, timestamp_ms=int(time.time() * 1000) - 61_000
        )
        refused = await client.request(**stale)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "stale_request"
        garbled = signed(owner, tokens, "POST", "/api/v1/orders", order)
        garbled["headers"]["X-Solbot-Signature"] = "not-base58!"
        assert (await client.request(**garbled)).json()["error"]["code"] == "bad_signature"
        once = signed(owner, tokens, "POST", "/api/v1/orders", order)
        first = await client.request(**once)
        assert first.status_code == 202, first.text
        replay = await client.request(**once)
        assert replay.status_code == 401 and replay.json()["error"]["code"] == "replayed"


async def test_refresh_reuse_revokes_the_whole_family(
    make_client: ClientFactory, owner: Keypair, web_database_url: str
) -> None:
    async with make_client() as client:
        first = await sign_in(client, owner)
        rotated = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert rotated.status_code == 200
        second = rotated.json()
        assert (await client.get("/api/v1/auth/me", headers=bearer(second))).status_code == 200
        # A thief replays the exchanged token: refused, and the family (session) ends for everyone.
        stolen = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert stolen.status_code == 401
        for tokens in (first, second):
            assert (await client.get("/api/v1/auth/me", headers=bearer(tokens))).status_code == 401
        again = await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
        assert again.status_code == 401
        # Another session of the same wallet is not this family: it lives on.
        other = await sign_in(client, owner)
        assert (await client.get("/api/v1/auth/me", headers=bearer(other))).status_code == 200
    rows = await _audit_rows(web_database_url)
    assert any(r["action"] == "session.revoke" and r["actor"] == str(owner.pubkey()) for r in rows)


async def test_logout_ends_the_session(
    make_client: ClientFactory, owner: Keypair, web_database_url: str
) -> None:
    async with make_client() as client:
        tokens = await sign_in(client, owner)
        keep = await sign_in(client, owner)
        out = await client.post("/api/v1/auth/logout", headers=bearer(tokens))
        assert out.status_code == 200 and out.json() == {"ended": True}
        assert (await client.get("/api/v1/auth/me", headers=bearer(tokens))).status_code == 401
        refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refresh.status_code == 401
        assert (await client.post("/api/v1/auth/logout", headers=bearer(tokens))).status_code == 401
        assert (await client.get("/api/v1/auth/me", headers=bearer(keep))).status_code == 200
    rows = await _audit_rows(web_database_url)
    assert any(r["action"] == "logout" and r["actor"] == str(owner.pubkey()) for r in rows)


async def test_sessions_are_ended_only_by_their_wallet_or_an_owner(
    make_client: ClientFactory, owner: Keypair, viewer: Keypair
) -> None:
    async with make_client() as client:
        boss, mine = await sign_in(client, owner), await sign_in(client, viewer)
        listed = (await client.get("/api/v1/auth/sessions", headers=bearer(mine))).json()["sessions"]
        assert len(listed) == 1 and listed[0]["current"] is True
        owner_sid = (await client.get("/api/v1/auth/sessions", headers=bearer(boss))).json()["sessions"][0][
            "id"
        ]
        denied = await client.delete(f"/api/v1/auth/sessions/{owner_sid}", headers=bearer(mine))
        assert denied.status_code == 404  # another wallet's session: not even confirmed to exist
        assert (await client.get("/api/v1/auth/me", headers=bearer(boss))).status_code == 200
        ended = await client.delete(f"/api/v1/auth/sessions/{listed[0]['id']}", headers=bearer(boss))
        assert ended.status_code == 200 and ended.json() == {"ended": True}  # the owner may
        assert (await client.get("/api/v1/auth/me", headers=bearer(mine))).status_code == 401


async def test_forged_redis_records_yield_nothing(
    make_client: ClientFactory, owner: Keypair, web_redis: aioredis.Redis
) -> None:
    async with make_client() as client:
        real = await sign_in(client, owner)
        sid = (await client.get("/api/v1/auth/sessions", headers=bearer(real))).json()["sessions"][0]["id"]
        wallet = str(owner.pubkey())
        token = "forged-refresh-token-0123456789abcdef"
        digest = hashlib.sha256(token.encode()).hexdigest()
        # The record shapes before sealing, and a sealed-looking one with a made-up MAC.
        for record in (
            json.dumps({"wallet": wallet, "sid": sid}),
            json.dumps({"wallet": wallet, "sid": sid, "gen": 0}),
            "0" * 64 + "." + json.dumps({"gen": 0, "sid": sid, "wallet": wallet}, separators=(",", ":")),
        ):
            await web_redis.set(f"solbot:web:refresh:{digest}", record, ex=600)
            forged = await client.post("/api/v1/auth/refresh", json={"refresh_token": token})
            assert forged.status_code == 401, record
        # A sealed record copied to another key (another token's digest) does not verify either.
        real_keys = await web_redis.keys("solbot:web:refresh:*")
        copied = await web_redis.get(next(k for k in real_keys if not k.endswith(digest)))
        await web_redis.set(f"solbot:web:refresh:{digest}", copied, ex=600)
        assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": token})).status_code == 401
        # A planted session record for a made-up session id: no token names it, and none can be minted.
        await web_redis.set("solbot:web:session:" + "f" * 32, wallet, ex=600)
        stranger = await sign_in(client, Keypair())
        # Rewriting a stranger's session record to name the owner ends the stranger's session instead.
        stranger_sid = (await client.get("/api/v1/auth/sessions", headers=bearer(stranger))).json()[
            "sessions"
        ][0]["id"]
        await web_redis.set(f"solbot:web:session:{stranger_sid}", wallet, ex=600)
        assert (await client.get("/api/v1/auth/me", headers=bearer(stranger))).status_code == 401
        # The real session still works: authority was never in Redis.
        me = (await client.get("/api/v1/auth/me", headers=bearer(real))).json()
        assert me["role"] == "owner"


async def test_sign_in_for_another_domain_is_refused(make_client: ClientFactory, owner: Keypair) -> None:
    wallet = str(owner.pubkey())
    async with make_client() as client:
        for headers in ({"Host": "evil.example"}, {"Origin": "https://evil.example"}, {"Origin": "null"}):
            response = await client.post("/api/v1/auth/nonce", json={"wallet": wallet}, headers=headers)
            expected = 200 if headers.get("Origin") == "null" else 403
            assert response.status_code == expected, headers
            if expected == 403:
                assert response.json()["error"]["code"] == "wrong_domain"
        # A message issued here, relayed by a page on another domain for the wallet to sign there.
        message = (await client.post("/api/v1/auth/nonce", json={"wallet": wallet})).json()["message"]
        assert message.startswith(f"{DOMAIN} wants you to sign in")
        body = {"wallet": wallet, "message": message, "signature": str(owner.sign_message(message.encode()))}
        relayed = await client.post(
            "/api/v1/auth/verify", json=body, headers={"Origin": "https://evil.example"}
        )
        assert relayed.status_code == 403
        assert (await client.post("/api/v1/auth/verify", json=body)).status_code == 200  # nonce not consumed


def test_domain_is_required_outside_development(tmp_path: object) -> None:
    with pytest.raises(ConfigError, match="WEB_DOMAIN"):
        load_settings(data_dir=tmp_path, environment="production", jwt_secret="s" * 40)
    for bad in ("https://bot.example", "bot.example/path", "a b"):
        with pytest.raises(ConfigError, match="bad setting WEB_DOMAIN"):
            load_settings(web_domain=bad)
    assert load_settings(web_domain="Bot.Example:8443").web_domain == "bot.example:8443"


async def test_roles_are_granted_by_an_owner_and_never_leave_none(
    make_client: ClientFactory, owner: Keypair, web_database_url: str
) -> None:
    trader = Keypair()
    async with make_client() as client:
        boss = await signed_in(client, owner)
        unsigned = await client.put(
            f"/api/v1/roles/{trader.pubkey()}", json={"role": "trader"}, headers=bearer(boss.tokens)
        )
        assert unsigned.status_code == 401
        granted = await boss.put(f"/api/v1/roles/{trader.pubkey()}", json={"role": "trader"})
        assert granted.status_code == 200 and granted.json()["granted_by"] == str(owner.pubkey())
        them = await signed_in(client, trader)
        assert (await them.get("/api/v1/auth/me")).json()["role"] == "trader"
        assert (await them.put(f"/api/v1/roles/{trader.pubkey()}", json={"role": "owner"})).status_code == 403
        assert (await them.post("/api/v1/system/resume")).status_code == 403  # owners resume
        assert (await boss.put(f"/api/v1/roles/{owner.pubkey()}", json={"role": "viewer"})).status_code == 409
        assert (await boss.delete(f"/api/v1/roles/{owner.pubkey()}")).status_code == 409
        assert (
            await boss.put("/api/v1/roles/notakey" + "1" * 30, json={"role": "viewer"})
        ).status_code == 400
        assert (await boss.put(f"/api/v1/roles/{trader.pubkey()}", json={"role": "god"})).status_code == 400
        revoked = await boss.delete(f"/api/v1/roles/{trader.pubkey()}")
        assert revoked.status_code == 200 and revoked.json()["sessions_ended"] == 1
        assert (await them.get("/api/v1/auth/me")).status_code == 401  # revocation ended its session
        assert (await boss.delete(f"/api/v1/roles/{trader.pubkey()}")).status_code == 404
        roles = (await boss.get("/api/v1/roles")).json()["roles"]
        assert [r["role"] for r in roles] == ["owner"] or all(
            r["wallet"] != str(trader.pubkey()) for r in roles
        )
    actions = [(r["action"], r["target"]) for r in await _audit_rows(web_database_url)]
    assert ("role.grant", str(trader.pubkey())) in actions and (
        "role.revoke",
        str(trader.pubkey()),
    ) in actions


async def test_state_changes_are_audited_and_the_log_is_append_only(
    make_client: ClientFactory, owner: Keypair, web_database_url: str, topics: str
) -> None:
    async with make_client() as client:
        api = await signed_in(client, owner)
        assert (
            await api.post("/api/v1/system/halt", json={"reason": "audit me", "flatten": False})
        ).status_code == 202
        assert (await api.post("/api/v1/system/resume")).status_code == 202
        assert (
            await api.post("/api/v1/orders", json={"action": "close", "pair": "SOL/USDC"})
        ).status_code == 202
        rebalance = await api.post("/api/v1/portfolio/rebalance", json={"targets": {"SOL/USDC": 0.01}})
        assert rebalance.status_code == 202
        strategy = (await api.get("/api/v1/strategy")).json()["strategies"][0]
        body = {k: v for k, v in strategy.items() if k not in ("updated_by", "updated_ms")}
        assert (await api.put("/api/v1/strategy", json={**body, "enabled": True})).status_code == 200
        page = (await api.get("/api/v1/audit", params={"limit": 50})).json()["items"]
    wallet = str(owner.pubkey())
    mine = [(r["action"], r["source"]) for r in page if r["actor"] == wallet]
    for action in ("halt", "resume", "order.close", "rebalance", "strategy.deploy"):
        assert (action, "api") in mine, action
    halt = next(r for r in page if r["action"] == "halt")
    assert halt["detail"]["reason"] == "audit me" and halt["detail"]["flatten"] is False
    assert halt["detail"]["id"].startswith("ctl:halt:")
    conn = await asyncpg.connect(web_database_url)
    try:
        for statement in (
            "UPDATE audit_log SET actor = 'someone else'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(asyncpg.PostgresError, match="append-only"):
                await conn.execute(statement)
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE actor = $1", wallet) >= 5
    finally:
        await conn.close()


async def test_granted_roles_take_effect_without_signing_in_again(
    make_client: ClientFactory, web_database_url: str
) -> None:
    late = Keypair()
    async with make_client() as client:
        tokens = await sign_in(client, late)
        assert (await client.get("/api/v1/portfolio", headers=bearer(tokens))).status_code == 403
        await grant(web_database_url, late, "viewer")
        assert (await client.get("/api/v1/portfolio", headers=bearer(tokens))).status_code == 200
