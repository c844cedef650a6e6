"""Sign-in with a Solana wallet: nonce, signed message, tokens; refresh rotation; who am I."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, field_validator

from store.wallets import record_sign_in
from web.api.deps import CurrentWallet, StateDep, rate_limited
from web.api.errors import ErrorResponse, unauthorized
from web.api.security import AuthFailed, TokenPair, is_pubkey

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
    permissions: list[str]


@router.post("/nonce", response_model=NonceResponse, summary="Get a nonce and the message to sign")
async def nonce(body: NonceRequest, state: StateDep, _: AuthLimit) -> NonceResponse:
    value, message = await state.auth.issue_nonce(body.wallet)
    return NonceResponse(nonce=value, message=message)


@router.post(
    "/verify",
    response_model=TokenResponse,
    summary="Exchange a signed sign-in message for tokens",
    responses={401: {"model": ErrorResponse}},
)
async def verify(body: VerifyRequest, state: StateDep, _: AuthLimit) -> TokenResponse:
    try:
        pair = await state.auth.verify_sign_in(body.wallet, body.message, body.signature)
    except AuthFailed as exc:
        log.info("sign-in refused for %s: %s", body.wallet, exc)
        raise unauthorized("sign-in failed") from None
    await record_sign_in(state.pool, body.wallet, is_owner=body.wallet == state.settings.owner_wallet)
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
    return MeResponse(wallet=principal.wallet, permissions=sorted(p.value for p in principal.permissions))
