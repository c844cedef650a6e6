"""Wallet sign-in, sessions and permissions.

- Sign-in: a Sign-In With Solana message (`web.api.siws`) issued with a fresh nonce for one wallet and
  one domain, remembered sealed in Redis for `nonce_ttl_s` and consumed (GETDEL) on the first verify
  attempt, whatever its outcome.
- The access token is an HS256 JWT (`web.api.access_tokens`) living `access_ttl_s`: `sub` (wallet), `sid`
  (session), `iat`, `exp`, `jti`. Each check also reads the session (`web.api.sessions`), so ending a
  session (logout, refresh reuse, role revocation) ends its access tokens at once.
- Authority is the wallet's role in Postgres (`store.roles`), read on every check, never baked into a
  token nor taken from Redis: a wallet without a role holds no permission at all.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis.asyncio as aioredis
from solders.pubkey import Pubkey
from solders.signature import Signature

from web.api import access_tokens
from web.api.sealed import derive_key, seal, unseal
from web.api.sessions import Rotation, Session, SessionStore
from web.api.siws import SignInFields, nonce_of, sign_in_message

log = logging.getLogger(__name__)

NONCE_PREFIX = "solbot:web:nonce:"


class Permission(StrEnum):
    READ_PORTFOLIO = "read_portfolio"
    VIEW_ANALYTICS = "view_analytics"
    VIEW_LIVE_ORDERS = "view_live_orders"  # signals and orders before they execute (front-running material)
    EXECUTE_TRADES = "execute_trades"
    CONFIGURE_BOT = "configure_bot"
    MANAGE_ROLES = "manage_roles"


_VIEWER = frozenset({Permission.READ_PORTFOLIO, Permission.VIEW_ANALYTICS})
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "owner": frozenset(Permission),
    "trader": _VIEWER | {Permission.VIEW_LIVE_ORDERS, Permission.EXECUTE_TRADES},
    "viewer": _VIEWER,
}


def permissions_of(role: str | None) -> frozenset[Permission]:
    """What a role may do; no role (a wallet never granted one) may do nothing."""
    return ROLE_PERMISSIONS.get(role or "", frozenset())


RoleLookup = Callable[[str], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a wallet that signed in, its session, its role and what that allows."""

    wallet: str
    session_id: str
    role: str | None
    permissions: frozenset[Permission]
    expires_s: int = 0  # when the presented access token dies (unix seconds)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token lives


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """Lifetimes in seconds; injectable so tests can expire things without sleeping."""

    access_ttl_s: int = 3600
    session_ttl_s: int = 24 * 3600
    nonce_ttl_s: int = 300


class AuthFailed(Exception):
    """Sign-in or token check failed; the reason is for server logs, the client only sees 401."""


class RefreshReused(AuthFailed):
    """An already exchanged refresh token came back: its whole family (session) was ended."""

    def __init__(self, session: Session) -> None:
        super().__init__(f"refresh token reused: session of {session.wallet} ended")
        self.session = session


def is_pubkey(text: str) -> bool:
    try:
        Pubkey.from_string(text)
    except ValueError:
        return False
    return True


class Authenticator:
    """Issues nonces, verifies signed messages, and issues, checks, rotates and ends sessions."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        key: bytes,
        roles: RoleLookup,
        chain_id: str = "mainnet",
        config: AuthConfig | None = None,
    ) -> None:
        self._redis = redis
        self._key = key
        self._record_key = derive_key(key)
        self._roles = roles
        self.chain_id = chain_id
        self.config = config or AuthConfig()
        self.sessions = SessionStore(redis, self._record_key)

    # --- sign-in -------------------------------------------------------------------------------------

    async def issue_nonce(self, wallet: str, domain: str, uri: str) -> tuple[str, str]:
        """A fresh nonce and the exact message to sign; remembered (sealed) for `nonce_ttl_s`."""
        nonce = secrets.token_urlsafe(24)
        now = time.time()
        expires = now + self.config.nonce_ttl_s
        message = sign_in_message(SignInFields(domain, uri, self.chain_id, wallet, nonce, now, expires))
        record = {"wallet": wallet, "message": message, "domain": domain, "expires_s": expires}
        key = NONCE_PREFIX + nonce
        await self._redis.set(key, seal(self._record_key, key, record), ex=self.config.nonce_ttl_s)
        return nonce, message

    async def verify_sign_in(self, wallet: str, message: str, signature: str, *, domain: str) -> TokenPair:
        """Tokens for `wallet` when it signed exactly the message issued to it, for this domain, with a
        fresh, unused nonce."""
        nonce = nonce_of(message)
        if nonce is None:
            raise AuthFailed("message carries no nonce")
        key = NONCE_PREFIX + nonce
        record = unseal(self._record_key, key, await self._redis.getdel(key))  # consumed whatever follows
        if record is None:
            raise AuthFailed("nonce unknown, expired, already used or not ours")
        if record.get("wallet") != wallet or record.get("message") != message:
            raise AuthFailed("message is not the one issued to this wallet")
        if record.get("domain") != domain:
            raise AuthFailed(f"message was issued for {record.get('domain')!r}, signed in at {domain!r}")
        if time.time() >= float(record["expires_s"]):
            raise AuthFailed("nonce expired")
        try:
            ok = Signature.from_string(signature).verify(Pubkey.from_string(wallet), message.encode("utf-8"))
        except ValueError:
            ok = False
        if not ok:
            raise AuthFailed("signature does not verify")
        session, refresh = await self.sessions.open(wallet, self.config.session_ttl_s)
        return TokenPair(self.access_token(wallet, session.sid), refresh, self.config.access_ttl_s)

    # --- tokens --------------------------------------------------------------------------------------

    def access_token(self, wallet: str, session_id: str, *, now: float | None = None) -> str:
        """A signed access token; `now` is injectable so tests can mint one that has expired."""
        issued = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "sub": wallet,
            "sid": session_id,
            "iat": issued,
            "exp": issued + self.config.access_ttl_s,
            "jti": uuid.uuid4().hex,
        }
        return access_tokens.encode(claims, self._key)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: a new pair in the same session. An exchanged token presented again ends the session
        (`RefreshReused`); an unknown one is refused."""
        result = await self.sessions.rotate(refresh_token)
        if result.outcome is Rotation.REUSED and result.session is not None:
            raise RefreshReused(result.session)
        if result.outcome is not Rotation.ROTATED or result.session is None or result.refresh_token is None:
            raise AuthFailed("refresh token unknown, expired or its session ended")
        session = result.session
        return TokenPair(
            self.access_token(session.wallet, session.sid), result.refresh_token, self.config.access_ttl_s
        )

    async def authenticate(self, access_token: str) -> Principal:
        """The principal behind a valid access token whose session is still open; else `AuthFailed`."""
        try:
            claims = access_tokens.decode(access_token, self._key)
        except access_tokens.TokenInvalid as exc:
            raise AuthFailed(f"access token invalid: {exc}") from None
        wallet, session_id = claims.get("sub"), claims.get("sid")
        if not isinstance(wallet, str) or not isinstance(session_id, str):
            raise AuthFailed("access token lacks sub or sid")
        session = await self.sessions.get(session_id)
        if session is None or session.wallet != wallet:
            raise AuthFailed("session ended")
        role = await self._roles(wallet)
        return Principal(wallet, session_id, role, permissions_of(role), int(claims["exp"]))

    async def logout(self, principal: Principal) -> bool:
        """End the caller's session; False when it had already ended."""
        return await self.sessions.end(principal.session_id) is not None

    def wallet_of(self, access_token: str) -> str | None:
        """The wallet of a validly signed, unexpired token, without I/O (rate-limit identity only)."""
        try:
            sub = access_tokens.decode(access_token, self._key).get("sub")
        except access_tokens.TokenInvalid:
            return None
        return sub if isinstance(sub, str) else None
