"""`store.roles` and `store.audit_log`: grants replace, the last owner stays, every change leaves a row the
database refuses to alter."""

from __future__ import annotations

import asyncpg
import pytest

from store.audit_log import read_actions, record_action
from store.roles import LastOwner, grant_first_owner, grant_role, list_roles, revoke_role, role_of


async def test_grants_replace_and_are_audited(pool: asyncpg.Pool) -> None:
    assert await role_of(pool, "W1") is None
    assert await grant_first_owner(pool, "W1", actor="cli:ops", source="cli") is True
    assert await grant_first_owner(pool, "W2", actor="cli:ops", source="cli") is False  # one exists
    await grant_role(pool, "W2", "viewer", actor="W1", source="api")
    await grant_role(pool, "W2", "trader", actor="W1", source="api")
    assert await role_of(pool, "W2") == "trader"
    assert [(g.wallet, g.role, g.granted_by) for g in await list_roles(pool)] == [
        ("W1", "owner", "cli:ops"),
        ("W2", "trader", "W1"),
    ]
    assert await revoke_role(pool, "W2", actor="W1", source="api") == "trader"
    assert await revoke_role(pool, "W2", actor="W1", source="api") is None
    rows = await read_actions(pool)
    assert [(r.action, r.target, r.actor) for r in rows] == [
        ("role.revoke", "W2", "W1"),
        ("role.grant", "W2", "W1"),
        ("role.grant", "W2", "W1"),
        ("role.grant", "W1", "cli:ops"),
    ]
    assert rows[1].detail == {"role": "trader", "previous": "viewer"}


async def test_the_last_owner_cannot_be_demoted_or_revoked(pool: asyncpg.Pool) -> None:
    await grant_role(pool, "W1", "owner", actor="cli:ops", source="cli")
    with pytest.raises(LastOwner):
        await grant_role(pool, "W1", "viewer", actor="W1", source="api")
    with pytest.raises(LastOwner):
        await revoke_role(pool, "W1", actor="W1", source="api")
    await grant_role(pool, "W2", "owner", actor="W1", source="api")
    assert await revoke_role(pool, "W1", actor="W2", source="api") == "owner"
    assert await role_of(pool, "W1") is None


async def test_unknown_roles_are_refused_by_the_database(pool: asyncpg.Pool) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await grant_role(pool, "W1", "admin", actor="x", source="cli")  # type: ignore[arg-type]


async def test_audit_log_is_append_only(pool: asyncpg.Pool) -> None:
    first = await record_action(pool, actor="W1", source="api", action="halt", detail={"flatten": True})
    second = await record_action(pool, actor="cli:ops", source="cli", action="resume")
    assert second > first
    for statement in (
        "UPDATE audit_log SET actor = 'nobody'",
        "DELETE FROM audit_log WHERE id = 1",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await pool.execute(statement)
    page = await read_actions(pool, limit=1)
    assert [r.action for r in page] == ["resume"]
    older = await read_actions(pool, before_id=page[0].id)
    assert [(r.action, r.detail) for r in older] == [("halt", {"flatten": True})]
    with pytest.raises(asyncpg.CheckViolationError):
        await record_action(pool, actor="W1", source="web", action="x")  # type: ignore[arg-type]
