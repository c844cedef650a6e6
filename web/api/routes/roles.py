"""Roles and the audit log, for owners: who may do what, and who did what.

`PUT /roles/{wallet}` grants owner, trader or viewer (replacing any other role); `DELETE` revokes it and
ends the wallet's open sessions. Both need the owner's request signature like a trade, are written to the
audit log in the same transaction, and refuse to leave the bot without an owner (409 `last_owner`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from store.audit_log import read_actions
from store.roles import LastOwner, Role, RoleGrant, grant_role, list_roles, revoke_role
from web.api.deps import PoolDep, StateDep, rate_limited, require, require_signed
from web.api.errors import ApiError, ErrorResponse
from web.api.security import Permission, Principal, is_pubkey

log = logging.getLogger(__name__)

router = APIRouter(
    tags=["roles"],
    responses={
        401: {"model": ErrorResponse},
        403: {"model": ErrorResponse},
        409: {"model": ErrorResponse},
        429: {"model": ErrorResponse},
    },
)
Manage = Annotated[Principal, Depends(require(Permission.MANAGE_ROLES))]
SignedManage = Annotated[Principal, Depends(require_signed(Permission.MANAGE_ROLES))]
DefaultLimit = Annotated[None, Depends(rate_limited("default"))]
WalletPath = Annotated[str, Path(min_length=32, max_length=44, description="Base58 Solana public key")]


class RoleIn(BaseModel):
    role: Role


class RoleOut(BaseModel):
    wallet: str
    role: Role
    granted_by: str
    granted_at: datetime

    @classmethod
    def of(cls, grant: RoleGrant) -> RoleOut:
        return cls(
            wallet=grant.wallet, role=grant.role, granted_by=grant.granted_by, granted_at=grant.granted_at
        )


class RoleList(BaseModel):
    roles: list[RoleOut]


class Revoked(BaseModel):
    wallet: str
    previous: Role
    sessions_ended: int


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    source: str
    action: str
    target: str
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_before: int | None = Field(description="Pass as `before` for older rows; null at the end")


def _wallet(value: str) -> str:
    if not is_pubkey(value):
        raise ApiError(400, "bad_request", "wallet is not a base58 Solana public key")
    return value


@router.get("/roles", response_model=RoleList, summary="Every wallet's role")
async def get_roles(pool: PoolDep, _: Manage, __: DefaultLimit) -> RoleList:
    return RoleList(roles=[RoleOut.of(g) for g in await list_roles(pool)])


@router.put("/roles/{wallet}", response_model=RoleOut, summary="Grant a role (owner, trader or viewer)")
async def put_role(
    wallet: WalletPath, body: RoleIn, pool: PoolDep, principal: SignedManage, _: DefaultLimit
) -> RoleOut:
    try:
        grant = await grant_role(pool, _wallet(wallet), body.role, actor=principal.wallet, source="api")
    except LastOwner:
        raise ApiError(409, "last_owner", "that would leave no owner: grant another owner first") from None
    log.warning("%s granted %s to %s", principal.wallet, body.role, wallet)
    return RoleOut.of(grant)


@router.delete(
    "/roles/{wallet}", response_model=Revoked, summary="Revoke a role and end the wallet's sessions"
)
async def delete_role(
    wallet: WalletPath, state: StateDep, principal: SignedManage, _: DefaultLimit
) -> Revoked:
    try:
        previous = await revoke_role(state.pool, _wallet(wallet), actor=principal.wallet, source="api")
    except LastOwner:
        raise ApiError(409, "last_owner", "that would leave no owner: grant another owner first") from None
    if previous is None:
        raise ApiError(404, "not_found", "that wallet has no role")
    ended = await state.auth.sessions.end_all(wallet)
    log.warning("%s revoked %s of %s (%d sessions ended)", principal.wallet, previous, wallet, ended)
    return Revoked(wallet=wallet, previous=previous, sessions_ended=ended)


@router.get(
    "/audit", response_model=AuditPage, summary="The audit log of state-changing actions, newest first"
)
async def get_audit(
    pool: PoolDep,
    _: Manage,
    __: DefaultLimit,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> AuditPage:
    rows = await read_actions(pool, limit=limit, before_id=before)
    items = [AuditOut(**{f: getattr(r, f) for f in AuditOut.model_fields}) for r in rows]
    return AuditPage(items=items, next_before=rows[-1].id if len(rows) == limit else None)
