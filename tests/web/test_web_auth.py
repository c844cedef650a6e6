"""Sign-in, tokens, permissions, rate limits and the error shape, against real Postgres and Redis."""

from __future__ import annotations

import time
from typing import Annotated

import asyncpg
import pytest
import redis.asyncio as aioredis
from conftest import ClientFactory, bearer, grant, sign_in
from fastapi import APIRouter, Depends
from solders.keypair import Keypair

from web.api.deps import require
from web.api.errors import ApiError
from web.api.ratelimit import Limit
from web.api.routes.ws import CLOSE_FORBIDDEN, CLOSE_UNAUTHORIZED, WsClosed
from web.api.routes.ws import _authenticate as authenticate_ws
from web.api.security import AuthConfig, Permission, Principal, permissions_of


async def test_full_sign_in_then_me(make_client: ClientFactory, owner: Keypair) -> None:
    async with make_client() as client:
        wallet = str(owner.pubkey())
        issued = (await client.post("/api/v1/auth/nonce", json={"wallet": wallet})).json()
        message = issued["message"]
        assert "solbot.test" in message and wallet in message and issued["nonce"] in message
        assert "Expiration Time: " in message
        for line in ("URI: http://solbot.test", "Version: 1", "Chain ID: mainnet", "Issued At: "):
            assert f"\n{line}" in message, line
        tokens = await sign_in(client, owner)
        assert tokens["expires_in"] == 3600 and tokens["access_token"] and tokens["refresh_token"]
        me = await client.get("/api/v1/auth/me", headers=bearer(tokens))
        assert me.status_code == 200
        assert me.json() == {
            "wallet": wallet,
            "role": "owner",
            "permissions": sorted(p.value for p in Permission),
        }


async def test_a_viewer_gets_read_permissions_only(make_client: ClientFactory, web_database_url: str) -> None:
    viewer = Keypair()
    await grant(web_database_url, viewer, "viewer")
    async with make_client() as client:
        tokens = await sign_in(client, viewer)
        me = (await client.get("/api/v1/auth/me", headers=bearer(tokens))).json()
        assert me["role"] == "viewer" and me["permissions"] == ["read_portfolio", "view_analytics"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}],
)
async def test_unauthenticated_is_401(make_client: ClientFactory, headers: dict[str, str]) -> None:
    async with make_client() as client:
        for path in ("/api/v1/auth/me", "/api/v1/portfolio", "/api/v1/trades", "/api/v1/alerts"):
            response = await client.get(path, headers=headers)
            assert response.status_code == 401, path
            assert response.json()["error"]["code"] == "unauthorized"
            assert response.headers["www-authenticate"] == "Bearer"


async def _verify(client: object, body: dict[str, str]) -> int:
    response = await client.post("/api/v1/auth/verify", json=body)  # type: ignore[attr-defined]
    if response.status_code == 401:
        assert response.json() == {"error": {"code": "unauthorized", "message": "sign-in failed"}}
    return int(response.status_code)


async def test_forged_replayed_and_altered_sign_ins_are_401(
    make_client: ClientFactory, owner: Keypair
) -> None:
    wallet = str(owner.pubkey())
    async with make_client() as client:
        # Forged: signed by another key.
        message = (await client.post("/api/v1/auth/nonce", json={"wallet": wallet})).json()["message"]
        forged = str(Keypair().sign_message(message.encode()))
        assert await _verify(client, {"wallet": wallet, "message": message, "signature": forged}) == 401
        # The failed attempt consumed the nonce: even the right signature is now refused.
        right = str(owner.sign_message(message.encode()))
        assert await _verify(client, {"wallet": wallet, "message": message, "signature": right}) == 401

        # Replayed: the first use succeeds, the second is refused.
        message = (await client.post("/api/v1/auth/nonce", json={"wallet": wallet})).json()["message"]
        body = {"wallet": wallet, "message": message, "signature": str(owner.sign_message(message.encode()))}
        assert await _verify(client, body) == 200
        assert await _verify(client, body) == 401

        # Wrong message: validly signed, but not the text that was issued.
        message = (await client.post("/api/v1/auth/nonce", json={"wallet": wallet})).json()["message"]
        altered = message.replace("Sign in to solbot.", "Sign in to solbot!")
        sig = str(owner.sign_message(altered.encode()))
        assert await _verify(client, {"wallet": wallet, "message": altered, "signature": sig}) == 401

        # Another wallet presenting a message issued to this one.
        other = Keypair()
        message = (await client.post("/api/v1/auth/nonce", json={"wallet": wallet})).json()["message"]
        sig = str(other.sign_message(message.encode()))
        assert (
            await _verify(client, {"wallet": str(other.pubkey()), "message": message, "signature": sig})
            == 401
        )

        # Garbage signature and a message without a nonce.
        message = (await client.post("/api/v1/auth/nonce", json={"wallet": wallet})).json()["message"]
        assert (
            await _verify(client, {"wallet": wallet, "message": message, "signature": "not-base58!"}) == 401
        )
        assert await _verify(client, {"wallet": wallet, "message": "hello", "signature": right}) == 401


async def test_expired_nonce_is_401(
    make_client: ClientFactory, owner: Keypair, web_redis: aioredis.Redis
) -> None:
    wallet = str(owner.pubkey())
    async with make_client(auth_config=AuthConfig(nonce_ttl_s=1)) as client:
        issued = (await client.post("/api/v1/auth/nonce", json={"wallet": wallet})).json()
        assert 0 < await web_redis.ttl(f"solbot:web:nonce:{issued['nonce']}") <= 1
        await web_redis.delete(f"solbot:web:nonce:{issued['nonce']}")  # what the TTL does, without waiting
        sig = str(owner.sign_message(issued["message"].encode()))
        assert (
            await _verify(client, {"wallet": wallet, "message": issued["message"], "signature": sig}) == 401
        )


async def test_expired_access_token_is_401(make_client: ClientFactory, owner: Keypair) -> None:
    async with make_client(auth_config=AuthConfig(access_ttl_s=60)) as client:
        tokens = await sign_in(client, owner)
        assert tokens["expires_in"] == 60
        auth = client.app.state.api.auth  # type: ignore[attr-defined]
        principal = await auth.authenticate(tokens["access_token"])
        stale = auth.access_token(principal.wallet, principal.session_id, now=time.time() - 61)
        fresh = auth.access_token(principal.wallet, principal.session_id)
        assert (
            await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {stale}"})
        ).status_code == 401
        assert (
            await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {fresh}"})
        ).status_code == 200


async def test_token_signed_with_another_secret_is_401(make_client: ClientFactory, owner: Keypair) -> None:
    async with make_client() as client:
        tokens = await sign_in(client, owner)
    other = client.app.state.api.settings.model_copy(update={"jwt_secret": None})  # type: ignore[attr-defined]
    async with make_client(settings=other) as client2:  # development: a random per-process key
        assert (await client2.get("/api/v1/auth/me", headers=bearer(tokens))).status_code == 401


async def test_refresh_rotates(make_client: ClientFactory, owner: Keypair, web_redis: aioredis.Redis) -> None:
    async with make_client() as client:
        first = await sign_in(client, owner)
        response = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert response.status_code == 200
        second = response.json()
        assert second["refresh_token"] != first["refresh_token"]
        assert (await client.get("/api/v1/auth/me", headers=bearer(second))).status_code == 200
        assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": "bogus"})).status_code == 401
        # No raw refresh token is stored in Redis: only its digest.
        keys = await web_redis.keys("solbot:web:refresh:*")
        assert keys and all(second["refresh_token"] not in k for k in keys)
        # Ending the session revokes both its access tokens and its refresh token.
        await web_redis.delete(*await web_redis.keys("solbot:web:session:*"))
        assert (await client.get("/api/v1/auth/me", headers=bearer(second))).status_code == 401
        gone = await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
        assert gone.status_code == 401


async def test_require_dependency_enforces_permissions() -> None:
    owner_wallet, viewer_wallet = str(Keypair().pubkey()), str(Keypair().pubkey())
    viewer = Principal(viewer_wallet, "s", "viewer", permissions_of("viewer"))
    boss = Principal(owner_wallet, "s", "owner", permissions_of("owner"))
    configure = require(Permission.CONFIGURE_BOT)
    assert await configure(boss) is boss
    with pytest.raises(ApiError) as refused:
        await configure(viewer)
    assert refused.value.status_code == 403 and refused.value.code == "forbidden"
    assert await require(Permission.READ_PORTFOLIO, Permission.VIEW_ANALYTICS)(viewer) is viewer
    assert permissions_of("viewer") == frozenset({Permission.READ_PORTFOLIO, Permission.VIEW_ANALYTICS})
    assert permissions_of(None) == frozenset()  # a wallet never granted a role
    nobody = Principal(viewer_wallet, "s", None, permissions_of(None))
    with pytest.raises(ApiError):
        await require(Permission.READ_PORTFOLIO, Permission.VIEW_ANALYTICS)(nobody)


async def test_configure_only_route_is_403_for_a_viewer(
    make_client: ClientFactory, owner: Keypair, web_database_url: str
) -> None:
    """A probe route (test-only) guarded by `configure_bot`: 403 for a viewer, 200 for the owner."""
    async with make_client() as client:
        probe = APIRouter()

        @probe.get("/probe/configure")
        async def configure(
            _: Annotated[Principal, Depends(require(Permission.CONFIGURE_BOT))],
        ) -> dict[str, bool]:
            return {"ok": True}

        client.app.include_router(probe)  # type: ignore[attr-defined]
        someone = Keypair()
        await grant(web_database_url, someone, "viewer")
        viewer = await sign_in(client, someone)
        denied = await client.get("/probe/configure", headers=bearer(viewer))
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
        boss = await sign_in(client, owner)
        assert (await client.get("/probe/configure", headers=bearer(boss))).status_code == 200


async def test_rate_limit_is_429_with_retry_after(make_client: ClientFactory) -> None:
    wallet = str(Keypair().pubkey())
    async with make_client(rate_limits={"auth": Limit(3, 60)}) as client:
        codes = [
            (await client.post("/api/v1/auth/nonce", json={"wallet": wallet})).status_code for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        limited = await client.post("/api/v1/auth/nonce", json={"wallet": wallet})
        assert limited.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 60


async def test_rate_limit_counts_per_wallet(make_client: ClientFactory, owner: Keypair) -> None:
    async with make_client(rate_limits={"default": Limit(2, 60)}) as client:
        a, b = await sign_in(client, owner), await sign_in(client, Keypair())
        assert [(await client.get("/api/v1/auth/me", headers=bearer(a))).status_code for _ in range(3)] == [
            200,
            200,
            429,
        ]
        assert (await client.get("/api/v1/auth/me", headers=bearer(b))).status_code == 200


async def test_bad_json_and_bad_fields_are_400_with_fields(make_client: ClientFactory) -> None:
    async with make_client() as client:
        broken = await client.post(
            "/api/v1/auth/nonce", content=b'{"wallet": ', headers={"content-type": "application/json"}
        )
        assert broken.status_code == 400
        assert broken.json()["error"]["code"] == "invalid_request" and broken.json()["error"]["fields"]
        bad = await client.post("/api/v1/auth/nonce", json={"wallet": "not a key"})
        assert bad.status_code == 400
        assert bad.json()["error"]["fields"] == [
            {"field": "body.wallet", "message": "Value error, not a base58 Solana public key"}
        ]
        missing = await client.post("/api/v1/auth/verify", json={"wallet": str(Keypair().pubkey())})
        assert {f["field"] for f in missing.json()["error"]["fields"]} == {"body.message", "body.signature"}


async def test_unhandled_error_is_json_500_without_traceback(make_client: ClientFactory) -> None:
    async with make_client() as client:
        boom = APIRouter()

        @boom.get("/boom")
        async def explode() -> None:
            raise RuntimeError("secret internals /path/to/file.py")

        client.app.include_router(boom)  # type: ignore[attr-defined]
        response = await client.get("/boom")
        assert response.status_code == 500
        assert response.json() == {"error": {"code": "internal_error", "message": "internal server error"}}
        assert "Traceback" not in response.text and "secret internals" not in response.text
        missing = await client.get("/api/v1/nowhere")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_websocket_token_check(make_client: ClientFactory, owner: Keypair) -> None:
    async with make_client() as client:
        auth = client.app.state.api.auth  # type: ignore[attr-defined]
        tokens = await sign_in(client, owner)
        principal = await authenticate_ws(auth, tokens["access_token"])
        assert principal.wallet == str(owner.pubkey())
        stale = auth.access_token(principal.wallet, principal.session_id, now=time.time() - 7200)
        for bad in ("", tokens["refresh_token"], stale):
            with pytest.raises(WsClosed) as closed:
                await authenticate_ws(auth, bad)
            assert closed.value.code == CLOSE_UNAUTHORIZED
        with pytest.raises(WsClosed) as other:  # a re-auth must name the same wallet
            await authenticate_ws(auth, tokens["access_token"], str(Keypair().pubkey()))
        assert other.value.code == CLOSE_UNAUTHORIZED
        fresh = await sign_in(client, Keypair())  # signed in, no role: nothing to read
        with pytest.raises(WsClosed) as forbidden:
            await authenticate_ws(auth, fresh["access_token"])
        assert forbidden.value.code == CLOSE_FORBIDDEN


async def test_sign_in_records_the_wallet(make_client: ClientFactory, web_database_url: str) -> None:
    keypair = Keypair()
    async with make_client() as client:
        await sign_in(client, keypair)
        await sign_in(client, keypair)
    conn = await asyncpg.connect(web_database_url)
    try:
        row = await conn.fetchrow(
            "SELECT sign_ins, is_owner FROM wallets WHERE address = $1", str(keypair.pubkey())
        )
    finally:
        await conn.close()
    assert row is not None and row["sign_ins"] == 2 and row["is_owner"] is False
