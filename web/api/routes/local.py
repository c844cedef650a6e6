"""The one-click local sign-in (development only, `web.api.local_signin`): a session for the development
owner key, and request signatures for that session's trading calls.

`GET /auth/local` says whether this request may use it (the page shows its button then); `POST
/auth/local/session` signs in through the usual nonce and verify path; `POST /auth/local/sign` signs one
request-signing message for this domain. Anything else is 403 `local_sign_in_refused`, and 404 where the
API runs without it (production, TLS certificates, a non-loopback bind).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from store.wallets import record_sign_in
from web.api.action_log import audit
from web.api.deps import CurrentWallet, StateDep, rate_limited
from web.api.errors import ApiError, ErrorResponse
from web.api.local_signin import LocalRefused, LocalSigner
from web.api.routes.auth import TokenResponse
from web.api.security import AuthFailed

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/auth/local",
    tags=["auth"],
    responses={403: {"model": ErrorResponse}, 404: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)
AuthLimit = Annotated[None, Depends(rate_limited("auth"))]


class LocalInfo(BaseModel):
    available: bool = Field(description="True when this browser may sign in locally as the owner")
    wallet: str | None = Field(description="The development owner key's address, when available")


class SignRequest(BaseModel):
    message: str = Field(max_length=2000, description="A request-signing message (web/api/request_signing)")


class SignResponse(BaseModel):
    signature: str = Field(description="Base58 ed25519 signature of the message's UTF-8 bytes")


def _signer(state: StateDep) -> LocalSigner:
    if state.local is None:
        raise ApiError(404, "not_found", "local sign-in is off (development on a loopback address only)")
    return state.local


def _admit(signer: LocalSigner, request: Request, state: StateDep) -> str:
    try:
        return signer.admit(request, state.settings.web_domain)
    except LocalRefused as exc:
        log.warning("local sign-in refused: %s", exc)
        raise ApiError(
            403, "local_sign_in_refused", "local sign-in is for this machine's user only"
        ) from None


@router.get("", response_model=LocalInfo, summary="Whether this browser may sign in locally (development)")
async def info(request: Request, state: StateDep, _: AuthLimit) -> LocalInfo:
    if state.local is None:
        return LocalInfo(available=False, wallet=None)
    try:
        state.local.admit(request, state.settings.web_domain)
    except LocalRefused:
        return LocalInfo(available=False, wallet=None)
    return LocalInfo(available=True, wallet=state.local.wallet)


@router.post("/session", response_model=TokenResponse, summary="Sign in as the development owner key")
async def session(request: Request, state: StateDep, _: AuthLimit) -> TokenResponse:
    signer = _signer(state)
    domain = _admit(signer, request, state)
    scheme = "https" if request.url.scheme == "https" else "http"
    _nonce, message = await state.auth.issue_nonce(signer.wallet, domain, f"{scheme}://{domain}")
    try:
        pair = await state.auth.verify_sign_in(
            signer.wallet, message, signer.sign_in_message(message), domain=domain
        )
    except AuthFailed as exc:  # the key lost its role (revoked by an owner): say so
        raise ApiError(403, "local_sign_in_refused", f"the development key cannot sign in: {exc}") from None
    principal = await state.auth.authenticate(pair.access_token)
    await record_sign_in(state.pool, signer.wallet, is_owner=principal.role == "owner")
    await audit(state.pool, principal, "local_sign_in", principal.session_id)
    return TokenResponse.of(pair)


@router.post("/sign", response_model=SignResponse, summary="Sign one trading request for the local session")
async def sign(
    body: SignRequest, request: Request, state: StateDep, principal: CurrentWallet, _: AuthLimit
) -> SignResponse:
    signer = _signer(state)
    domain = _admit(signer, request, state)
    if principal.wallet != signer.wallet:
        raise ApiError(403, "local_sign_in_refused", "only the local session's requests are signed here")
    try:
        return SignResponse(signature=signer.sign_request(body.message, domain))
    except LocalRefused as exc:
        raise ApiError(400, "bad_request", str(exc)) from None
