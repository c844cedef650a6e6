"""`solbot roles`: the first owner from OWNER_WALLET, grants and revocations audited as `cli:<user>`, and
bad input as one line with exit 2."""

from __future__ import annotations

import argparse
import asyncio
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from solders.keypair import Keypair

from core.settings import Settings, load_settings
from solbot.cli_audit import audit_cli_action
from solbot.commands import roles
from store.migrate import migrate


@pytest.fixture
async def roles_db(database_url: str) -> str:
    name = f"roles_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
    await migrate(url)
    return url


def _args(action: str, **kw: object) -> argparse.Namespace:
    defaults: dict[str, object] = {"wallet": None, "role": None, "first_owner": False}
    return argparse.Namespace(roles_action=action, **{**defaults, **kw})


def _settings(tmp_path: Path, url: str, owner: str | None = None) -> Settings:
    return load_settings(
        data_dir=tmp_path, database_url=url, broker_url=None, redis_url=None, owner_wallet=owner
    )


async def _rows(url: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch("SELECT actor, source, action, target FROM audit_log ORDER BY id"))
    finally:
        await conn.close()


async def test_first_owner_grants_and_revokes(
    tmp_path: Path, roles_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    owner, trader = str(Keypair().pubkey()), str(Keypair().pubkey())
    settings = _settings(tmp_path, roles_db, owner)
    run = asyncio.to_thread
    assert await run(roles.main, settings, _args("grant", first_owner=True)) == 0
    assert (
        await run(roles.main, settings, _args("grant", first_owner=True, wallet=trader)) == 1
    )  # owner exists
    assert await run(roles.main, settings, _args("grant", wallet=trader, role="trader")) == 0
    assert await run(roles.main, settings, _args("list")) == 0
    assert await run(roles.main, settings, _args("revoke", wallet=owner)) == 1  # the last owner stays
    assert await run(roles.main, settings, _args("revoke", wallet=trader)) == 0
    out, err = capsys.readouterr()
    assert f"{owner}: owner (first owner)" in out and f"{trader}  trader" in out and "an owner exists" in err
    rows = await _rows(roles_db)
    assert [(r["action"], r["target"], r["source"]) for r in rows] == [
        ("role.grant", owner, "cli"),
        ("role.grant", trader, "cli"),
        ("role.revoke", trader, "cli"),
    ]
    assert all(r["actor"].startswith("cli:") for r in rows)
    assert await run(audit_cli_action, settings, "halt", "", {"reason": "x"}) is None
    assert (await _rows(roles_db))[-1]["action"] == "halt"


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = _settings(tmp_path, "postgresql://127.0.0.1:1/none")
    assert roles.main(settings, _args("grant", wallet="not-a-key", role="viewer")) == 2
    assert roles.main(settings, _args("grant", wallet=str(Keypair().pubkey()))) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "solbot: not a base58 Solana public key: not-a-key",
        "solbot: roles grant needs WALLET and ROLE (or --first-owner)",
    ]
    assert roles.main(settings, _args("list")) == 1  # unreachable database: one line, no traceback
    assert "Traceback" not in capsys.readouterr().err
