"""The dashboard's one-click local sign-in over real TCP connections to a served API: this user's
browser gets an owner session and request signatures; another account on the same machine, a foreign
Host (DNS rebinding), a cross-site Origin, a sign-in message or a transaction to sign, and the API
outside development are all refused."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from core.settings import Settings
from services.process import free_port
from store.audit_log import read_actions
from store.db import create_pool
from store.roles import role_of
from wallet import dev_key
from web.api.app import create_app
from web.api.local_signin import LocalRefused, LocalSigner, local_sign_in_enabled
from web.api.request_signing import request_message


@pytest.fixture
def local_settings(web_settings: Settings, tmp_path: Path) -> Settings:
    """Development on loopback, no configured domain: what `solbot run` serves."""
    return web_settings.model_copy(update={"web_domain": None, "data_dir": tmp_path / "data"})


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, live_bridge=False), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the API did not start"
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 15)


def signed_headers(
    client_base: str, tokens: dict[str, Any], signature: str, ts: int, nonce: str
) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {tokens['access_token']}",
        "Content-Type": "application/json",
        "X-Solbot-Timestamp": str(ts),
        "X-Solbot-Nonce": nonce,
        "X-Solbot-Signature": signature,
    }


async def test_local_sign_in_gives_this_user_an_owner_session_that_can_halt(local_settings: Settings) -> None:
    async with served(local_settings) as base, httpx.AsyncClient(base_url=base) as client:
        info = (await client.get("/api/v1/auth/local")).json()
        key = dev_key.load_or_create(local_settings.data_dir)
        assert info == {"available": True, "wallet": str(key.pubkey())}
        path = dev_key.dev_key_path(local_settings.data_dir)
        assert path.stat().st_mode & 0o777 == 0o600

        tokens = (await client.post("/api/v1/auth/local/session")).json()
        me = await client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert me.json()["role"] == "owner" and me.json()["wallet"] == str(key.pubkey())

        # A trading request signed through the local signer is accepted by the ordinary verification.
        body = json.dumps({"reason": "local test", "flatten": False}).encode()
        ts, nonce = int(time.time() * 1000), secrets.token_urlsafe(16)
        host = base.removeprefix("http://")
        message = request_message(host, "POST", "/api/v1/system/halt", body, ts, nonce)
        signed = await client.post(
            "/api/v1/auth/local/sign",
            json={"message": message},
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert signed.status_code == 200, signed.text
        signature = signed.json()["signature"]
        assert Signature.from_string(signature).verify(key.pubkey(), message.encode())
        halted = await client.post(
            "/api/v1/system/halt", content=body, headers=signed_headers(base, tokens, signature, ts, nonce)
        )
        assert halted.status_code == 202, halted.text
        trading = await client.get(
            "/api/v1/system/trading", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert trading.json()["halted"] is True and trading.json()["reason"] == "local test"

        # Only request-signing messages for this domain: never a sign-in message or other bytes.
        for text in (
            message.replace(f"Domain: {host}", "Domain: evil.example"),
            f"{host} wants you to sign in with your Solana account:\n{key.pubkey()}",
            bytes(range(40)).hex(),
        ):
            refused = await client.post(
                "/api/v1/auth/local/sign",
                json={"message": text},
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
            )
            assert refused.status_code == 400, text

    pool = await create_pool(local_settings.database_url or "", min_size=1, max_size=1)
    try:
        assert await role_of(pool, str(key.pubkey())) == "owner"
        actions = [a.action for a in (await read_actions(pool, limit=50))]
    finally:
        await pool.close()
    assert "role.grant" in actions and "local_sign_in" in actions and "halt" in actions


async def test_local_sign_in_refuses_rebinding_cross_site_and_other_sessions(
    local_settings: Settings, owner: Keypair
) -> None:
    async with served(local_settings) as base, httpx.AsyncClient(base_url=base) as client:
        # DNS rebinding: a page of another site reaching 127.0.0.1 sends its own name as Host.
        rebound = await client.post("/api/v1/auth/local/session", headers={"Host": "attacker.example:80"})
        assert rebound.status_code == 403
        assert rebound.json()["error"]["code"] == "local_sign_in_refused"
        cross = await client.post("/api/v1/auth/local/session", headers={"Origin": "http://attacker.example"})
        assert cross.status_code == 403
        info = (await client.get("/api/v1/auth/local", headers={"Host": "attacker.example"})).json()
        assert info == {"available": False, "wallet": None}

        # A session of another wallet (the owner's own Phantom) cannot make the development key sign.
        issued = (await client.post("/api/v1/auth/nonce", json={"wallet": str(owner.pubkey())})).json()
        verify = await client.post(
            "/api/v1/auth/verify",
            json={
                "wallet": str(owner.pubkey()),
                "message": issued["message"],
                "signature": str(owner.sign_message(issued["message"].encode())),
            },
        )
        tokens = verify.json()
        host = base.removeprefix("http://")
        message = request_message(host, "POST", "/api/v1/system/resume", b"", 1, "a" * 16)
        other = await client.post(
            "/api/v1/auth/local/sign",
            json={"message": message},
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert other.status_code == 403


CONNECT_AS_NOBODY = """
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="POST", data=b"")) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
"""


SYSTEM_PYTHON = "/usr/bin/python3"  # the venv's interpreter may sit where another user cannot read


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to run a client as another user")
async def test_another_account_on_this_machine_is_refused(local_settings: Settings) -> None:
    """The fault: a process of another local user connects to the loopback API."""
    async with served(local_settings) as base:
        result = await asyncio.to_thread(
            subprocess.run,
            [
                SYSTEM_PYTHON if os.access(SYSTEM_PYTHON, os.X_OK) else sys.executable,
                "-c",
                CONNECT_AS_NOBODY,
                f"{base}/api/v1/auth/local/session",
            ],
            user="nobody",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd="/",
        )
        assert result.stdout.strip() == "403", result.stderr
        async with httpx.AsyncClient(base_url=base) as client:  # this user, same moment: admitted
            assert (await client.post("/api/v1/auth/local/session")).status_code == 200


async def test_local_sign_in_is_off_outside_development_or_off_loopback(
    local_settings: Settings, tmp_path: Path
) -> None:
    assert local_sign_in_enabled(local_settings)
    assert not local_sign_in_enabled(local_settings.model_copy(update={"environment": "production"}))
    assert not local_sign_in_enabled(local_settings.model_copy(update={"web_host": "0.0.0.0"}))
    cert = local_settings.model_copy(update={"web_tls_cert": tmp_path / "c.pem"})
    assert not local_sign_in_enabled(cert)
    assert not local_sign_in_enabled(local_settings.model_copy(update={"web_domain": "bot.example"}))
    off = local_settings.model_copy(update={"web_host": "0.0.0.0"})
    async with served(off) as base, httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/api/v1/auth/local")).json() == {"available": False, "wallet": None}
        assert (await client.post("/api/v1/auth/local/session")).status_code == 404
    assert not dev_key.dev_key_path(off.data_dir).exists()


def test_signer_refuses_a_peer_that_is_not_loopback() -> None:
    signer = LocalSigner.for_this_user(Keypair())
    scope = {
        "type": "http",
        "client": ("10.0.0.5", 5555),
        "server": ("127.0.0.1", 8000),
        "headers": [(b"host", b"127.0.0.1:8000")],
    }
    from starlette.requests import Request

    with pytest.raises(LocalRefused, match="not loopback"):
        signer.admit(Request(scope), None)
    assert isinstance(Pubkey.from_string(signer.wallet), Pubkey)
