"""JSON-RPC errors to `core.errors` classes, by code and structured data only, and the Retry-After hint.

Why by code: messages differ between node versions and providers, codes do not (PROTOCOLS.md §4).
-32002 is split on the structured `data.err` (the simulation's TransactionError): the fieldless variant
`"BlockhashNotFound"` is `BlockhashNotFound`, `"AlreadyProcessed"` (the same bytes landed before: not a
failure) `AlreadyProcessed`, anything else a `PreflightFailed`. Nothing here reads a
message's text.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping
from datetime import UTC
from typing import Any, Protocol

from core.errors import (
    AlreadyProcessed,
    BlockhashNotFound,
    MinContextSlotNotReached,
    NodeBehind,
    PreflightFailed,
    RpcError,
    RpcRateLimited,
    SignatureVerificationFailed,
)

BLOCKHASH_NOT_FOUND_OR_PREFLIGHT = -32002
SIGNATURE_VERIFICATION_FAILURE = -32003
NODE_UNHEALTHY = -32005
MIN_CONTEXT_SLOT_NOT_REACHED = -32016
HTTP_TOO_MANY_REQUESTS = 429

# The wire forms of `TransactionError::BlockhashNotFound` and `::AlreadyProcessed` (a fieldless variant is
# its name as a string; anza-xyz/solana-sdk transaction-error/src/lib.rs, read 2026-12-04).
BLOCKHASH_NOT_FOUND = "BlockhashNotFound"
ALREADY_PROCESSED = "AlreadyProcessed"


def is_blockhash_not_found(err: object) -> bool:
    """Whether a TransactionError (a simulation's or a status's `err`, as JSON) is BlockhashNotFound."""
    return err == BLOCKHASH_NOT_FOUND


def map_error(error: Mapping[str, Any]) -> RpcError:
    """The exception for a JSON-RPC error object, chosen by its code (and, for -32002, `data.err`)."""
    raw_code = error.get("code", 0)
    code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else 0
    message = str(error.get("message", ""))
    data = error.get("data")
    if code == BLOCKHASH_NOT_FOUND_OR_PREFLIGHT:
        err = data.get("err") if isinstance(data, dict) else None
        if is_blockhash_not_found(err):
            return BlockhashNotFound(message, code, data)
        if err == ALREADY_PROCESSED:
            return AlreadyProcessed(message, code, data)
        return PreflightFailed(message, code, data)
    if code == SIGNATURE_VERIFICATION_FAILURE:
        return SignatureVerificationFailed(message, code, data)
    if code == NODE_UNHEALTHY:
        return NodeBehind(message, code, data)
    if code == MIN_CONTEXT_SLOT_NOT_REACHED:
        return MinContextSlotNotReached(message, code, data)
    if code == HTTP_TOO_MANY_REQUESTS:
        return RpcRateLimited(message)
    return RpcError(message, code, data)


class HasHeaders(Protocol):
    """An HTTP response of httpx or httpx2 (solana-py's), as far as Retry-After is concerned."""

    @property
    def headers(self) -> Mapping[str, str]: ...


def retry_after_s(response: HasHeaders) -> float | None:
    """The response's Retry-After in seconds (see `parse_retry_after`)."""
    return parse_retry_after(response.headers.get("retry-after"))


def parse_retry_after(value: str | None, *, now_s: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds (fractions accepted) or an HTTP date (RFC 9110 §10.2.3).

    None when absent or unreadable, and for a date that is not in the future: such a date says more
    about the two clocks than about when to come back, so the caller's own backoff applies.
    """
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a zone-less one ("-0000") is read as such
        when = when.replace(tzinfo=UTC)
    wait = when.timestamp() - (time.time() if now_s is None else now_s)
    return wait if wait > 0 else None
