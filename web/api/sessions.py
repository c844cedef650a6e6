"""Server-side sessions and their refresh-token families, in Redis, every record sealed (`web.api.sealed`).

- `solbot:web:session:<sid>`: the wallet, when the session ends, and the generation of its one live
  refresh token. Deleting it ends the session: its access tokens fail their next check and its refresh
  tokens their next use.
- `solbot:web:refresh:<sha256 of token>`: which session and generation a refresh token was issued as. Kept
  (not deleted on use) until the session ends, so presenting a token of an older generation is recognised
  as reuse: someone holds a copy of a token that was already exchanged, and the whole family (the
  session) is ended, the thief's and the owner's tokens alike.
- `solbot:web:wallet-sessions:<wallet>`: the wallet's session ids, so revoking a role ends them all.

Rotation runs under WATCH on the session record: two concurrent uses of one token cannot both win; the
loser is treated as reuse.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from enum import Enum

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from web.api.sealed import seal, unseal

log = logging.getLogger(__name__)

SESSION_PREFIX = "solbot:web:session:"
REFRESH_PREFIX = "solbot:web:refresh:"
WALLET_SESSIONS_PREFIX = "solbot:web:wallet-sessions:"


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    wallet: str
    ends_s: int  # unix seconds
    generation: int


class Rotation(Enum):
    ROTATED = "rotated"
    UNKNOWN = "unknown"  # never issued, forged, or its session already ended
    REUSED = "reused"  # an already exchanged token: the family was ended


@dataclass(frozen=True, slots=True)
class RotateResult:
    outcome: Rotation
    session: Session | None = None
    refresh_token: str | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionStore:
    def __init__(self, redis: aioredis.Redis, key: bytes) -> None:
        self._redis = redis
        self._key = key

    def _session_value(self, session: Session) -> str:
        payload = {"wallet": session.wallet, "ends_s": session.ends_s, "gen": session.generation}
        return seal(self._key, SESSION_PREFIX + session.sid, payload)

    def _refresh_value(self, session: Session, token: str) -> tuple[str, str]:
        key = REFRESH_PREFIX + _digest(token)
        payload = {"sid": session.sid, "wallet": session.wallet, "gen": session.generation}
        return key, seal(self._key, key, payload)

    async def open(self, wallet: str, ttl_s: int) -> tuple[Session, str]:
        """A new session for `wallet` and the first refresh token of its family."""
        session = Session(uuid.uuid4().hex, wallet, int(time.time()) + ttl_s, 0)
        token = secrets.token_urlsafe(32)
        refresh_key, refresh_value = self._refresh_value(session, token)
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(SESSION_PREFIX + session.sid, self._session_value(session), exat=session.ends_s)
        pipe.set(refresh_key, refresh_value, exat=session.ends_s)
        pipe.sadd(WALLET_SESSIONS_PREFIX + wallet, session.sid)
        # Every session lives the same TTL, so the newest one ends last: the set lives as long.
        pipe.expireat(WALLET_SESSIONS_PREFIX + wallet, session.ends_s)
        await pipe.execute()
        return session, token

    def _session_of(self, sid: str, raw: str | bytes | None) -> Session | None:
        payload = unseal(self._key, SESSION_PREFIX + sid, raw)
        if payload is None:
            return None
        try:
            return Session(sid, str(payload["wallet"]), int(payload["ends_s"]), int(payload["gen"]))
        except (KeyError, TypeError, ValueError):
            return None

    async def get(self, sid: str) -> Session | None:
        """The open session `sid`; None when it ended, never existed, or its record was not sealed by us."""
        session = self._session_of(sid, await self._redis.get(SESSION_PREFIX + sid))
        return session if session is not None and session.ends_s > time.time() else None

    async def rotate(self, refresh_token: str) -> RotateResult:
        refresh_key = REFRESH_PREFIX + _digest(refresh_token)
        record = unseal(self._key, refresh_key, await self._redis.get(refresh_key))
        if record is None or not isinstance(record.get("sid"), str):
            return RotateResult(Rotation.UNKNOWN)
        sid = record["sid"]
        session_key = SESSION_PREFIX + sid
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.watch(session_key)
            session = self._session_of(sid, await pipe.get(session_key))
            if session is None or session.ends_s <= time.time() or session.wallet != record.get("wallet"):
                return RotateResult(Rotation.UNKNOWN)
            if record.get("gen") != session.generation:
                await pipe.reset()
                await self.end(sid)
                log.warning("refresh token reuse in session %s of %s: session ended", sid[:8], session.wallet)
                return RotateResult(Rotation.REUSED, session)
            rotated = Session(sid, session.wallet, session.ends_s, session.generation + 1)
            token = secrets.token_urlsafe(32)
            new_key, new_value = self._refresh_value(rotated, token)
            pipe.multi()
            pipe.set(session_key, self._session_value(rotated), exat=rotated.ends_s)
            pipe.set(new_key, new_value, exat=rotated.ends_s)
            try:
                await pipe.execute()
            except WatchError:  # a concurrent use of the same token won: this one is the copy
                await self.end(sid)
                log.warning("concurrent refresh in session %s of %s: session ended", sid[:8], session.wallet)
                return RotateResult(Rotation.REUSED, session)
        return RotateResult(Rotation.ROTATED, rotated, token)

    async def end(self, sid: str) -> Session | None:
        """End the session (logout, reuse, revocation); returns what it was, None if already ended."""
        raw = await self._redis.getdel(SESSION_PREFIX + sid)
        session = self._session_of(sid, raw)
        if session is not None:
            await self._redis.srem(WALLET_SESSIONS_PREFIX + session.wallet, sid)
        return session

    async def of_wallet(self, wallet: str) -> list[Session]:
        """The wallet's open sessions."""
        sids = await self._redis.smembers(WALLET_SESSIONS_PREFIX + wallet)
        found = [await self.get(sid.decode() if isinstance(sid, bytes) else sid) for sid in sorted(sids)]
        return [s for s in found if s is not None]

    async def end_all(self, wallet: str) -> int:
        """End every session of `wallet` (its role was revoked or changed); returns how many were open."""
        sids = await self._redis.smembers(WALLET_SESSIONS_PREFIX + wallet)
        ended = 0
        for sid in sids:
            ended += await self.end(sid.decode() if isinstance(sid, bytes) else sid) is not None
        await self._redis.delete(WALLET_SESSIONS_PREFIX + wallet)
        return ended
