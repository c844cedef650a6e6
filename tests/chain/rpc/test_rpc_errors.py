"""JSON-RPC errors are classified by code and structured data, never by message; Retry-After parsing."""

from __future__ import annotations

import email.utils
from typing import Any

import pytest

from chain.rpc import is_blockhash_not_found, map_error, parse_retry_after
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

MISLEADING = "Transaction simulation failed: Blockhash not found"  # a message must never decide


_NO_DATA = object()


def err(code: object, data: object = _NO_DATA, message: str = MISLEADING) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not _NO_DATA:
        error["data"] = data
    return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        # -32002: the structured `data.err` decides, whatever the message says
        (err(-32002, {"err": "BlockhashNotFound", "logs": []}, "x"), BlockhashNotFound),
        (err(-32002, {"err": "AlreadyProcessed", "logs": []}, "x"), AlreadyProcessed),  # landed before
        (err(-32002, {"err": {"InstructionError": [0, {"Custom": 1}]}}), PreflightFailed),
        (err(-32002, {"err": "AccountNotFound"}), PreflightFailed),
        (err(-32002, {"err": None}), PreflightFailed),
        (err(-32002, {"logs": []}), PreflightFailed),
        (err(-32002), PreflightFailed),
        (err(-32002, "BlockhashNotFound"), PreflightFailed),
        (err(-32002, {"err": {"BlockhashNotFound": None}}), PreflightFailed),
        (err(-32003, message="Transaction signature verification failure"), SignatureVerificationFailed),
        (err(-32005, {"numSlotsBehind": 42}, "Node is behind by 42 slots"), NodeBehind),
        (err(-32005, message="Node is unhealthy"), NodeBehind),
        (
            err(-32016, {"contextSlot": 9}, "Minimum context slot has not been reached"),
            MinContextSlotNotReached,
        ),
        (err(429, message="Too many requests for a specific RPC call"), RpcRateLimited),
        (err(-32601, message="Method not found"), RpcError),
        (err(-32602, message="Invalid params: blockhash not found"), RpcError),
        (err(-32004, message="Block not available for slot 5"), RpcError),
        (err(-32007, message="Slot 5 was skipped"), RpcError),
        (err("-32002"), RpcError),  # a code that is not a number is no code
        ({"message": MISLEADING}, RpcError),
    ],
)
def test_each_code_maps_to_its_class(error: dict[str, Any], expected: type[RpcError]) -> None:
    mapped = map_error(error)
    assert type(mapped) is expected
    assert mapped.data == error.get("data") or expected is RpcRateLimited


def test_the_code_and_the_data_are_kept() -> None:
    mapped = map_error({"code": -32016, "message": "m", "data": {"contextSlot": 9}})
    assert isinstance(mapped, NodeBehind)  # a node behind the asked-for slot is a node behind
    assert mapped.code == -32016 and mapped.data == {"contextSlot": 9} and str(mapped) == "m"
    limited = map_error({"code": 429, "message": "slow"})
    assert isinstance(limited, RpcRateLimited) and limited.code == 429 and limited.retry_after_s is None


def test_blockhash_not_found_is_the_fieldless_variant_only() -> None:
    assert is_blockhash_not_found("BlockhashNotFound")
    for err in (None, "AccountNotFound", {"InstructionError": [0, "BlockhashNotFound"]}, "blockhashnotfound",
                "TransactionErrorFieldless.BlockhashNotFound", {"BlockhashNotFound": None}):  # fmt: skip
        assert not is_blockhash_not_found(err)


def test_retry_after_seconds_and_http_dates() -> None:
    now = 1_445_412_480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now_s=now) == 10.0
    assert parse_retry_after(email.utils.formatdate(now + 4.0, usegmt=True), now_s=now) == 4.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 -0000", now_s=now) == 10.0  # zone-less: GMT
    # A date that is not in the future gives no hint (clock skew): the caller's backoff applies.
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now_s=now) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now_s=now) is None
    for bad in (None, "", "  ", "soon", "inf", "nan", "Wed, 32 Oct 2015 99:00:00 GMT"):
        assert parse_retry_after(bad, now_s=now) is None
