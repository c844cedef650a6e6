"""`solbot roles list | grant WALLET ROLE | grant --first-owner | revoke WALLET`: who may use the web API.

Roles live in Postgres (`wallet_roles`); a wallet that signed in but holds none may read nothing. The
first owner is granted here (or by `solbot web` from OWNER_WALLET while the database has no owner); after
that an owner grants the rest from the dashboard's API or from here. Every change is audited with the
actor `cli:<OS user>`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import asyncpg

from core.errors import ServiceError
from core.settings import Settings
from solbot.cli_audit import cli_actor, database_url
from store.db import create_pool
from store.roles import ROLES, LastOwner, grant_first_owner, grant_role, list_roles, revoke_role
from web.api.security import is_pubkey


def add_parser(subparsers: Any) -> None:
    """Add `roles` to the `solbot` sub-commands."""
    p = subparsers.add_parser("roles", help="web API roles: list, grant, revoke (owner, trader, viewer)")
    actions = p.add_subparsers(dest="roles_action", required=True)
    actions.add_parser("list", help="every wallet's role")
    grant = actions.add_parser("grant", help="give a wallet a role")
    grant.add_argument(
        "wallet", nargs="?", help="base58 public key (default with --first-owner: OWNER_WALLET)"
    )
    grant.add_argument("role", nargs="?", choices=ROLES, help="owner, trader or viewer")
    grant.add_argument(
        "--first-owner", action="store_true", help="make the wallet owner only if there is no owner yet"
    )
    revoke = actions.add_parser(
        "revoke", help="remove a wallet's role (its sessions end at their next check)"
    )
    revoke.add_argument("wallet")


async def _run(url: str, args: argparse.Namespace, owner_wallet: str | None) -> tuple[int, str]:
    pool = await create_pool(url, min_size=1, max_size=2)
    actor = cli_actor()
    try:
        if args.roles_action == "list":
            grants = await list_roles(pool)
            lines = [
                f"{g.wallet}  {g.role:<6}  by {g.granted_by}  {g.granted_at:%Y-%m-%d %H:%M}" for g in grants
            ]
            return 0, "\n".join(lines) if lines else "no roles granted"
        if args.roles_action == "revoke":
            previous = await revoke_role(pool, args.wallet, actor=actor, source="cli")
            return (
                (0, f"{args.wallet}: {previous} revoked") if previous else (1, f"{args.wallet} has no role")
            )
        if args.first_owner:
            wallet = args.wallet or owner_wallet
            if wallet is None:
                return 2, "--first-owner needs a WALLET or the OWNER_WALLET setting"
            if not is_pubkey(wallet):
                return 2, f"not a base58 Solana public key: {wallet}"
            if await grant_first_owner(pool, wallet, actor=actor, source="cli"):
                return 0, f"{wallet}: owner (first owner)"
            return 1, "an owner exists already: an owner grants roles (`solbot roles grant WALLET owner`)"
        grant = await grant_role(pool, args.wallet, args.role, actor=actor, source="cli")
        return 0, f"{grant.wallet}: {grant.role}"
    except LastOwner as exc:
        return 1, f"{exc}: grant another owner first"
    finally:
        await pool.close()


def main(settings: Settings, args: argparse.Namespace) -> int:
    if args.roles_action == "grant" and not args.first_owner:
        if args.wallet is None or args.role is None:
            print("solbot: roles grant needs WALLET and ROLE (or --first-owner)", file=sys.stderr)
            return 2
    wallet = getattr(args, "wallet", None)
    if wallet is not None and not is_pubkey(wallet):
        print(f"solbot: not a base58 Solana public key: {wallet}", file=sys.stderr)
        return 2
    url = database_url(settings)
    if url is None:
        print("solbot: no database: set DATABASE_URL or start one with `solbot services up`", file=sys.stderr)
        return 1
    try:
        code, text = asyncio.run(_run(url, args, settings.owner_wallet))
    except (ServiceError, OSError, asyncpg.PostgresError) as exc:
        print(
            f"solbot: roles: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            file=sys.stderr,
        )
        return 1
    print(text, file=sys.stdout if code == 0 else sys.stderr)
    return code
