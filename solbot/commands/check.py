"""`solbot check balances`: reconcile the database's balances with the wallet's token accounts on chain.

The local chain lives inside the worker process that settles fills (LiteSVM is in-process), so this
command cannot reach it from outside: the worker will expose the chain's balances (and this comparison)
once it owns a `LocalChain`; until then the command says so and exits 2. What is here, and tested, is
the comparison itself and the chain side (`chain_balances`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from solbot.settings import Settings

if TYPE_CHECKING:
    from chain.local import LocalChain


def add_parser(subparsers: Any) -> None:
    """Add `check` to the `solbot` sub-commands."""
    parser = subparsers.add_parser("check", help="consistency checks between the database and the chain")
    parser.add_argument("action", choices=["balances"])


def compare_balances(db_balances: Mapping[str, int], chain_balances: Mapping[str, int]) -> list[str]:
    """One line per mint whose amounts differ (a mint missing on one side counts as 0); empty if equal."""
    lines = []
    for mint in sorted(set(db_balances) | set(chain_balances)):
        db, chain = int(db_balances.get(mint, 0)), int(chain_balances.get(mint, 0))
        if db != chain:
            lines.append(f"{mint}: db {db} chain {chain} (chain - db = {chain - db:+d})")
    return lines


def chain_balances(chain: LocalChain) -> dict[str, int]:
    """The wallet's balances as the chain's token accounts hold them, by the bot's mint address."""
    return chain.balances()


def main(settings: Settings, args: argparse.Namespace) -> int:
    print(
        "solbot: check balances needs the worker's local chain, which runs inside the worker; "
        "the worker will expose it",
        file=sys.stderr,
    )
    return 2
