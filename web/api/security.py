"""Wallet sign-in, sessions and permissions, kept in Redis.

Token design (why both kinds):
- The access token is an HS256 JWT (`web/api/access_tokens.py`, signed and checked by PyJWT) living
  `access_ttl_s` (1 h): claims `sub` (wallet), `sid` (session id), `iat`, `exp`, `jti`. Its signature and
  times are checked without I/O, then the session key is looked up, so ending a session revokes its
  access tokens at once.
- The refresh token is an opaque random string (32 bytes, url-safe). Redis stores only its SHA-256
  (`solbot:web:refresh:<sha256>` -> session id), so a Redis dump holds no usable token. A refresh
  consumes it with GETDEL (atomic: two concurrent refreshes cannot both win) and issues a new one.
- The session (`solbot:web:session:<sid>` -> wallet) lives `session_ttl_s` (24 h) from sign-in; rotated
  refresh tokens never outlive it.
- A sign-in nonce (`solbot:web:nonce:<nonce>` -> wallet and the exact message) lives `nonce_ttl_s`
  (5 min) and is consumed with GETDEL on the first verify attempt, whatever its outcome.

Permissions are computed per request from the `OWNER_WALLET` setting, not baked into tokens, so a
change of owner takes effect without waiting for tokens to expire.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import redis.asyncio as aioredis
from solders.pubkey import Pubkey
from solders.signature import Signature

from web.api import access_tokens

log = logging.getLogger(__name__)

NONCE_PREFIX = "solbot:web:nonce:"
SESSION_PREFIX = "solbot:web:session:"
REFRESH_PREFIX = "solbot:web:refresh:"


class Permission(StrEnum):
    READ_PORTFOLIO = "read_portfolio"
    EXECUTE_TRADES = "execute_trades"
    CONFIGURE_BOT = "configure_bot"
    VIEW_ANALYTICS = "view_analytics"


OWNER_PERMISSIONS = frozenset(Permission)
VIEWER_PERMISSIONS = frozenset({Permission.READ_PORTFOLIO, Permission.VIEW_ANALYTICS})


def permissions_for(wallet: str, owner_wallet: str | None) -> frozenset[Permission]:
    """The owner wallet may do everything; any other signed-in wallet may only read."""
    return OWNER_PERMISSIONS if owner_wallet is not None and wallet == owner_wallet else VIEWER_PERMISSIONS


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a wallet that signed in, its session, and what it may do."""

    wallet: str
    session_id: str
    permissions: frozenset[Permission]

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


def is_pubkey(text: str) -> bool:
    try:
        Pubkey.from_string(text)
    except ValueError:
        return False
    return True


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def sign_in_message(domain: str, wallet: str, nonce: str, issued_s: float, expires_s: float) -> str:
    """The text a wallet signs (shaped like Sign-In With Solana): domain, wallet, nonce and expiry."""
    return (
        f"{domain} wants you to sign in with your Solana account:\n"
        f"{wallet}\n\n"
        "Sign in to solbot. This request will not trigger a blockchain transaction or cost any fees.\n\n"
        f"URI: https://{domain}\n"
        f"Nonce: {nonce}\n"
        f"Issued At: {_iso(issued_s)}\n"
        f"Expiration Time: {_iso(expires_s)}"
    )


_NONCE_LINE = re.compile(r"^Nonce: ([A-Za-z0-9_-]{16,64})$", re.MULTILINE)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Authenticator:
    """Issues nonces, verifies signed messages, and issues, checks and rotates tokens."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        key: bytes,
        domain: str,
        owner_wallet: str | None,
        config: AuthConfig | None = None,
    ) -> None:
        self._redis = redis
        self._key = key
        self.domain = domain
        self.owner_wallet = owner_wallet
        self.config = config or AuthConfig()

    # --- sign-in -------------------------------------------------------------------------------------

    async def issue_nonce(self, wallet: str) -> tuple[str, str]:
        """A fresh nonce and the exact message to sign; remembered for `nonce_ttl_s`."""
        nonce = secrets.token_urlsafe(24)
        now = time.time()
        message = sign_in_message(self.domain, wallet, nonce, now, now + self.config.nonce_ttl_s)
        record = json.dumps(
            {"wallet": wallet, "message": message, "expires_s": now + self.config.nonce_ttl_s}
        )
        await self._redis.set(NONCE_PREFIX + nonce, record, ex=self.config.nonce_ttl_s)
        return nonce, message

    async def verify_sign_in(self, wallet: str, message: str, signature: str) -> TokenPair:
        """Tokens for `wallet` when it signed exactly the message issued with a fresh, unused nonce."""
        match = _NONCE_LINE.search(message)
        if match is None:
            raise AuthFailed("message carries no nonce")
        raw = await self._redis.getdel(NONCE_PREFIX + match.group(1))  # consumed whatever happens next
        if raw is None:
            raise AuthFailed("nonce unknown, expired or already used")
        record = json.loads(_text(raw))
        if record["wallet"] != wallet or record["message"] != message:
            raise AuthFailed("message is not the one issued to this wallet")
        if time.time() >= float(record["expires_s"]):
            raise AuthFailed("nonce expired")
        try:
            ok = Signature.from_string(signature).verify(Pubkey.from_string(wallet), message.encode("utf-8"))
        except ValueError:
            ok = False
        if not ok:
            raise AuthFailed("signature does not verify")
        return await self._open_session(wallet)

    # --- tokens --------------------------------------------------------------------------------------

    async def _open_session(self, wallet: str) -> TokenPair:
        session_id = uuid.uuid4().hex
        await self._redis.set(SESSION_PREFIX + session_id, wallet, ex=self.config.session_ttl_s)
        return await self._issue(wallet, session_id, self.config.session_ttl_s)

    async def _issue(self, wallet: str, session_id: str, session_left_s: int) -> TokenPair:
        refresh = secrets.token_urlsafe(32)
        await self._redis.set(
            REFRESH_PREFIX + _digest(refresh),
            json.dumps({"wallet": wallet, "sid": session_id}),
            ex=max(1, session_left_s),
        )
        access = self.access_token(wallet, session_id)
        return TokenPair(access, refresh, self.config.access_ttl_s)

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
        """Rotate: the presented refresh token is consumed and a new pair issued in the same session."""
        raw = await self._redis.getdel(REFRESH_PREFIX + _digest(refresh_token))
        if raw is None:
            raise AuthFailed("refresh token unknown, expired or already used")
        record = json.loads(_text(raw))
        session_key = SESSION_PREFIX + record["sid"]
        left_ms = await self._redis.pttl(session_key)
        if left_ms is None or left_ms <= 0:
            raise AuthFailed("session ended")
        return await self._issue(record["wallet"], record["sid"], int(left_ms // 1000))

    async def authenticate(self, access_token: str) -> Principal:
        """The principal behind a valid access token whose session is still open; else `AuthFailed`."""
        try:
            claims = access_tokens.decode(access_token, self._key)
        except access_tokens.TokenInvalid as exc:
            raise AuthFailed(f"access token invalid: {exc}") from None
        wallet, session_id = claims.get("sub"), claims.get("sid")
        if not isinstance(wallet, str) or not isinstance(session_id, str):
            raise AuthFailed("access token lacks sub or sid")
        stored = await self._redis.get(SESSION_PREFIX + session_id)
        if stored is None or _text(stored) != wallet:
            raise AuthFailed("session ended")
        return Principal(wallet, session_id, permissions_for(wallet, self.owner_wallet))

    def wallet_of(self, access_token: str) -> str | None:
        """The wallet of a validly signed, unexpired token, without I/O (rate-limit identity only)."""
        try:
            sub = access_tokens.decode(access_token, self._key).get("sub")
        except access_tokens.TokenInvalid:
            return None
        return sub if isinstance(sub, str) else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
