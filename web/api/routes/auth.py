"""Sign-in with a Solana wallet: nonce, signed message, tokens; refresh rotation; logout; who am I.

The sign-in message is made for this API's domain (`web.api.siws`): a nonce or verify request whose Host or
Origin names another domain is refused (403 `wrong_domain`), before any nonce is issued or consumed.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field, field_validator

from core.settings import Settings
from store.audit_log import record_action
from store.wallets import record_sign_in
from web.api.action_log import audit
from web.api.deps import CurrentWallet, StateDep, rate_limited
from web.api.errors import ApiError, ErrorResponse, unauthorized
from web.api.security import AuthFailed, Permission, RefreshReused, TokenPair, is_pubkey
from web.api.siws import WrongDomain, request_domain

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/auth",
    tags=["auth"],
    responses={400: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)
AuthLimit = Annotated[None, Depends(rate_limited("auth"))]


class NonceRequest(BaseModel):
    wallet: str = Field(description="Base58 Solana public key")

    @field_validator("wallet")
    @classmethod
    def _pubkey(cls, value: str) -> str:
        if not is_pubkey(value):
            raise ValueError("not a base58 Solana public key")
        return value


class NonceResponse(BaseModel):
    nonce: str
    message: str = Field(description="The exact text to sign; names the domain, wallet, nonce and expiry")


class VerifyRequest(NonceRequest):
    message: str = Field(max_length=2000)
    signature: str = Field(
        max_length=200, description="Base58 ed25519 signature of the message's UTF-8 bytes"
    )


class RefreshRequest(BaseModel):
    refresh_token: str = Field(max_length=200)


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    expires_in: int = Field(description="Seconds the access token lives")
    token_type: str = "bearer"

    @classmethod
    def of(cls, pair: TokenPair) -> TokenResponse:
        return cls(
            access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
        )


class MeResponse(BaseModel):
    wallet: str
    role: str | None = Field(description="owner, trader or viewer; null until an owner grants one")
    permissions: list[str]


class LogoutResponse(BaseModel):
    ended: bool = Field(description="False when the session had already ended")


def _domain(request: Request, settings: Settings) -> str:
    try:
        return request_domain(settings.web_domain, request.headers.get("host"), request.headers.get("origin"))
    except WrongDomain as exc:
        log.info("sign-in refused: %s", exc)
        raise ApiError(403, "wrong_domain", "this API does not sign in for that domain") from None


def _uri(request: Request, settings: Settings, domain: str) -> str:
    secure = settings.web_tls or request.url.scheme == "https" or settings.environment != "development"
    return f"{'https' if secure else 'http'}://{domain}"


@router.post("/nonce", response_model=NonceResponse, summary="Get a nonce and the message to sign")
async def nonce(body: NonceRequest, request: Request, state: StateDep, _: AuthLimit) -> NonceResponse:
    domain = _domain(request, state.settings)
    value, message = await state.auth.issue_nonce(body.wallet, domain, _uri(request, state.settings, domain))
    return NonceResponse(nonce=value, message=message)


@router.post(
    "/verify",
    response_model=TokenResponse,
    summary="Exchange a signed sign-in message for tokens",
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}},
)
async def verify(body: VerifyRequest, request: Request, state: StateDep, _: AuthLimit) -> TokenResponse:
    domain = _domain(request, state.settings)
    try:
        pair = await state.auth.verify_sign_in(body.wallet, body.message, body.signature, domain=domain)
    except AuthFailed as exc:
        log.info("sign-in refused for %s: %s", body.wallet, exc)
        raise unauthorized("sign-in failed") from None
    principal = await state.auth.authenticate(pair.access_token)
    await record_sign_in(state.pool, body.wallet, is_owner=principal.role == "owner")
    return TokenResponse.of(pair)


@router.post(
    "/refresh",
    response_model=TokenResponse,
    summary="Rotate a refresh token (the old one stops working)",
    responses={401: {"model": ErrorResponse}},
)
async def refresh(body: RefreshRequest, state: StateDep, _: AuthLimit) -> TokenResponse:
    try:
        pair = await state.auth.refresh(body.refresh_token)
    except RefreshReused as exc:
        session = exc.session
        await record_action(
            state.pool, actor=session.wallet, source="api", action="session.revoke",
            target=session.sid, detail={"reason": "refresh token reused"},
        )  # fmt: skip
        raise unauthorized("refresh token invalid or expired") from None
    except AuthFailed as exc:
        log.info("refresh refused: %s", exc)
        raise unauthorized("refresh token invalid or expired") from None
    return TokenResponse.of(pair)


@router.get(
    "/me",
    response_model=MeResponse,
    summary="The signed-in wallet and its permissions",
    responses={401: {"model": ErrorResponse}},
)
async def me(principal: CurrentWallet, _: Annotated[None, Depends(rate_limited("default"))]) -> MeResponse:
    return MeResponse(
        wallet=principal.wallet,
        role=principal.role,
        permissions=sorted(p.value for p in principal.permissions),
    )


@router.post(
    "/logout",
    response_model=LogoutResponse,
    summary="End this session: its access and refresh tokens stop working, open WebSockets close",
    responses={401: {"model": ErrorResponse}},
)
async def logout(principal: CurrentWallet, state: StateDep, _: AuthLimit) -> LogoutResponse:
    await audit(state.pool, principal, "logout", principal.session_id)
    return LogoutResponse(ended=await state.auth.logout(principal))


class SessionOut(BaseModel):
    id: str
    ends_s: int = Field(description="Unix seconds the session ends at the latest")
    current: bool


class SessionList(BaseModel):
    sessions: list[SessionOut]


@router.get("/sessions", response_model=SessionList, summary="This wallet's open sessions")
async def sessions(principal: CurrentWallet, state: StateDep, _: AuthLimit) -> SessionList:
    found = await state.auth.sessions.of_wallet(principal.wallet)
    return SessionList(
        sessions=[SessionOut(id=s.sid, ends_s=s.ends_s, current=s.sid == principal.session_id) for s in found]
    )


@router.delete(
    "/sessions/{session_id}",
    response_model=LogoutResponse,
    summary="End one session: the caller's own, or (owner) any wallet's",
    responses={401: {"model": ErrorResponse}, 404: {"model": ErrorResponse}},
)
async def end_session(
    session_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    principal: CurrentWallet,
    state: StateDep,
    _: AuthLimit,
) -> LogoutResponse:
    session = await state.auth.sessions.get(session_id)
    # Another wallet's session answers like a missing one: its existence is not the caller's business.
    if session is None or (session.wallet != principal.wallet and not principal.can(Permission.MANAGE_ROLES)):
        raise ApiError(404, "not_found", "no such session")
    await audit(state.pool, principal, "session.end", session_id, {"wallet": session.wallet})
    return LogoutResponse(ended=await state.auth.sessions.end(session_id) is not None)
