"""A minimal HS256 JSON Web Token (RFC 7519), because PyJWT is not a dependency.

Only what solbot issues is accepted: header `{"alg": "HS256", "typ": "JWT"}` exactly (no `alg: none`,
no key confusion), a constant-time signature check, and a numeric `exp` that has not passed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any

_HEADER = {"alg": "HS256", "typ": "JWT"}


class TokenInvalid(Exception):
    """The token is malformed, forged or expired; the reason is for logs, never for the client."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenInvalid("bad base64") from exc


def _sign(signing_input: bytes, key: bytes) -> bytes:
    return hmac.new(key, signing_input, hashlib.sha256).digest()


def encode(claims: dict[str, Any], key: bytes) -> str:
    """Sign `claims` (which should carry `exp`) with HS256."""
    header = _b64encode(json.dumps(_HEADER, separators=(",", ":")).encode())
    payload = _b64encode(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    return f"{header}.{payload}.{_b64encode(_sign(signing_input, key))}"


def decode(token: str, key: bytes, *, now: float | None = None) -> dict[str, Any]:
    """The claims of a token this key signed and whose `exp` is still ahead; else `TokenInvalid`."""
    if not token.isascii():
        raise TokenInvalid("not ascii")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenInvalid("not three parts")
    header_b64, payload_b64, signature_b64 = parts
    try:
        header = json.loads(_b64decode(header_b64))
    except ValueError as exc:
        raise TokenInvalid("header is not JSON") from exc
    if header != _HEADER:
        raise TokenInvalid("unexpected header")
    expected = _sign(f"{header_b64}.{payload_b64}".encode("ascii"), key)
    if not hmac.compare_digest(expected, _b64decode(signature_b64)):
        raise TokenInvalid("bad signature")
    try:
        claims = json.loads(_b64decode(payload_b64))
    except ValueError as exc:
        raise TokenInvalid("payload is not JSON") from exc
    if not isinstance(claims, dict):
        raise TokenInvalid("payload is not an object")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise TokenInvalid("no numeric exp")
    if (time.time() if now is None else now) >= exp:
        raise TokenInvalid("expired")
    return claims
