"""Access tokens: HS256 JSON Web Tokens signed and checked by PyJWT, under solbot's policy.

The policy lives here so every caller gets the same one: only HS256 is accepted (never `alg: none`, never a
key read as another algorithm's), `exp` is required and is checked (a token is dead from its `exp` second
on), and an `iat` or `nbf` in the future is refused. Claims are written with sorted keys, so a token is the
same bytes the hand-written encoder this replaced produced: tokens issued before the change still verify.
"""

from __future__ import annotations

from typing import Any

import jwt
from jwt.types import Options

ALGORITHM = "HS256"
_DECODE_OPTIONS: Options = {"require": ["exp"]}


class TokenInvalid(Exception):
    """The token is malformed, forged, expired or not yet valid; the reason is for logs, never the client."""


def encode(claims: dict[str, Any], key: bytes) -> str:
    """Sign `claims` (which should carry `exp`) with HS256."""
    return jwt.encode(dict(sorted(claims.items())), key, algorithm=ALGORITHM)


def decode(token: str, key: bytes) -> dict[str, Any]:
    """The claims of a token this key signed whose time claims hold now; else `TokenInvalid`."""
    try:
        return jwt.decode(token, key, algorithms=[ALGORITHM], options=_DECODE_OPTIONS)
    except jwt.PyJWTError as exc:
        raise TokenInvalid(str(exc)) from None
