"""Reconciling two views of one wallet: the database's balances against the chain's, per mint."""

from __future__ import annotations

from collections.abc import Mapping


def compare_balances(db_balances: Mapping[str, int], chain_balances: Mapping[str, int]) -> list[str]:
    """One line per mint whose amounts differ (a mint missing on one side counts as 0); empty if equal."""
    lines = []
    for mint in sorted(set(db_balances) | set(chain_balances)):
        db, chain = int(db_balances.get(mint, 0)), int(chain_balances.get(mint, 0))
        if db != chain:
            lines.append(f"{mint}: db {db} chain {chain} (chain - db = {chain - db:+d})")
    return lines
