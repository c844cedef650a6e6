"""Records the API keeps in Redis, sealed with an HMAC so Redis cannot vouch for anything by itself.

Whoever can write to Redis could otherwise plant a session or refresh record naming any wallet. Each
value is `<hex HMAC-SHA256>.<json>`, the MAC computed over the Redis key and the JSON with a key derived
from the API's signing secret; a record whose MAC does not match (planted, edited, or moved to another
key) reads as absent. Authority (roles) is not in these records at all: it is read from Postgres.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

_LABEL = b"solbot web sealed redis records v1"


def derive_key(signing_key: bytes) -> bytes:
    """A key of its own for records, so a record MAC can never be mistaken for a token signature."""
    return hmac.new(signing_key, _LABEL, hashlib.sha256).digest()


def _mac(key: bytes, redis_key: str, body: str) -> str:
    return hmac.new(key, redis_key.encode() + b"\x00" + body.encode(), hashlib.sha256).hexdigest()


def seal(key: bytes, redis_key: str, payload: dict[str, Any]) -> str:
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return f"{_mac(key, redis_key, body)}.{body}"


def unseal(key: bytes, redis_key: str, raw: str | bytes | None) -> dict[str, Any] | None:
    """The payload of a record this key sealed under this Redis key; None for anything else."""
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    mac, sep, body = text.partition(".")
    if not sep or not hmac.compare_digest(mac, _mac(key, redis_key, body)):
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None
