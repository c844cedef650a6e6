"""Wallet signatures over trading requests: what a stolen access token alone cannot do.

Orders, halt, resume, rebalance and strategy deploys need, besides the access token, an ed25519
signature by the signed-in wallet (Phantom's `signMessage`, the same primitive as sign-in) over this
text, UTF-8, lines joined by `\\n`:

    solbot signed request v1
    Domain: <host[:port]>
    Method: <METHOD>
    Path: <path>[?<query>]
    Body-SHA256: <hex sha256 of the exact body bytes>
    Timestamp: <unix milliseconds>
    Nonce: <16-64 of A-Z a-z 0-9 _ ->

sent as headers `X-Solbot-Timestamp`, `X-Solbot-Nonce` and `X-Solbot-Signature` (base58). The first line
keeps a request signature from ever reading as a sign-in message or a transaction. A timestamp more than
`WEB_SIGNATURE_WINDOW_S` from the server's clock is refused, and a nonce is accepted once per wallet (kept
in Redis twice the window, so a replay inside or after the window fails either way).
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from solders.pubkey import Pubkey
from solders.signature import Signature

TIMESTAMP_HEADER = "x-solbot-timestamp"
NONCE_HEADER = "x-solbot-nonce"
SIGNATURE_HEADER = "x-solbot-signature"
NONCE_PREFIX = "solbot:web:request-nonce:"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class SignatureRefused(Exception):
    """The request's signature is missing, malformed, stale, replayed or wrong; `code` names which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class SignedParts:
    timestamp_ms: int
    nonce: str
    signature: str


def request_message(domain: str, method: str, target: str, body: bytes, timestamp_ms: int, nonce: str) -> str:
    return "\n".join(
        (
            "solbot signed request v1",
            f"Domain: {domain}",
            f"Method: {method.upper()}",
            f"Path: {target}",
            f"Body-SHA256: {hashlib.sha256(body).hexdigest()}",
            f"Timestamp: {timestamp_ms}",
            f"Nonce: {nonce}",
        )
    )


def parts_of(timestamp: str | None, nonce: str | None, signature: str | None) -> SignedParts:
    """The three headers, checked for shape; `SignatureRefused` when one is missing or malformed."""
    if not timestamp or not nonce or not signature:
        raise SignatureRefused(
            "signature_required",
            "trading requests need X-Solbot-Timestamp, X-Solbot-Nonce and X-Solbot-Signature",
        )
    if not timestamp.isdigit() or len(timestamp) > 15:
        raise SignatureRefused("bad_signature", "X-Solbot-Timestamp must be unix milliseconds")
    if not _NONCE.match(nonce):
        raise SignatureRefused("bad_signature", "X-Solbot-Nonce must be 16-64 of A-Z a-z 0-9 _ -")
    if len(signature) > 100:
        raise SignatureRefused("bad_signature", "X-Solbot-Signature is not a base58 signature")
    return SignedParts(int(timestamp), nonce, signature)


class RequestVerifier:
    def __init__(self, redis: aioredis.Redis, window_s: int) -> None:
        self._redis = redis
        self.window_s = window_s

    async def verify(
        self, wallet: str, message: str, parts: SignedParts, *, now_s: float | None = None
    ) -> None:
        """Fresh, signed by `wallet`, and its nonce never seen before for this wallet; else refused."""
        now_ms = (time.time() if now_s is None else now_s) * 1000
        if abs(now_ms - parts.timestamp_ms) > self.window_s * 1000:
            raise SignatureRefused(
                "stale_request", f"X-Solbot-Timestamp is more than {self.window_s} s from the server's clock"
            )
        try:
            ok = Signature.from_string(parts.signature).verify(Pubkey.from_string(wallet), message.encode())
        except ValueError:
            ok = False
        if not ok:
            raise SignatureRefused("bad_signature", "the request signature does not verify for this wallet")
        # Only after the signature verified: a forger cannot burn a wallet's nonces.
        fresh = await self._redis.set(
            f"{NONCE_PREFIX}{wallet}:{parts.nonce}", "1", nx=True, ex=2 * self.window_s
        )
        if not fresh:
            raise SignatureRefused("replayed", "this request nonce was already used")
