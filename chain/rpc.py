"""An async Solana JSON-RPC client for the calls a venue and the collectors need, with errors mapped by code.

Why by code: messages differ between node versions and providers, codes do not (PROTOCOLS.md §4).
-32002 is split on the simulate result's `err` ("BlockhashNotFound" vs any other preflight failure),
HTTP 429 (or JSON-RPC code 429) is `RpcRateLimited` with the server's Retry-After, and a timeout is
`RpcTimeout` — the caller must then assume the request may have arrived.
`sendTransaction` always sends `maxRetries: 0`: the order life cycle re-broadcasts the same signed
bytes itself, so it alone decides when a transaction is dead.
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import itertools
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from core.errors import (
    BlockhashNotFound,
    NodeBehind,
    PreflightFailed,
    RpcError,
    RpcRateLimited,
    RpcTimeout,
    SignatureVerificationFailed,
)

# httpcore runs `import sniffio` on every async request; anyio 4.16 no longer depends on it, and a missing
# module is searched for again on every import (sys.path scan: ~1 ms, the top cost of a busy client in
# the fault test's profile). Recording the miss makes the failed import immediate; nothing is lost, since
# httpcore then assumes asyncio, which it would conclude anyway.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

BLOCKHASH_NOT_FOUND_OR_PREFLIGHT = -32002
SIGNATURE_VERIFICATION_FAILURE = -32003
NODE_UNHEALTHY = -32005
HTTP_TOO_MANY_REQUESTS = 429


@dataclass(frozen=True, slots=True)
class LatestBlockhash:
    blockhash: str
    last_valid_block_height: int
    slot: int


@dataclass(frozen=True, slots=True)
class Simulation:
    err: object  # None when the simulation succeeded
    logs: list[str]
    units_consumed: int


@dataclass(frozen=True, slots=True)
class AccountInfo:
    data: bytes
    owner: str
    lamports: int
    slot: int  # the context slot the node answered at


@dataclass(frozen=True, slots=True)
class SignatureStatus:
    slot: int
    confirmations: int | None  # None once rooted
    err: object  # None when the transaction succeeded
    confirmation_status: str | None  # processed | confirmed | finalized


def retry_after_s(response: httpx.Response) -> float | None:
    """Retry-After in seconds; None when absent or not a number (an HTTP-date is treated as absent)."""
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def map_error(error: dict[str, Any]) -> RpcError:
    """The exception for a JSON-RPC error object, chosen by its code (and the structured `data`)."""
    code = int(error.get("code", 0))
    message = str(error.get("message", ""))
    data = error.get("data")
    if code == BLOCKHASH_NOT_FOUND_OR_PREFLIGHT:
        err = data.get("err") if isinstance(data, dict) else None
        if err == "BlockhashNotFound":
            return BlockhashNotFound(message, code, data)
        return PreflightFailed(message, code, data)
    if code == SIGNATURE_VERIFICATION_FAILURE:
        return SignatureVerificationFailed(message, code, data)
    if code == NODE_UNHEALTHY:
        return NodeBehind(message, code, data)
    if code == HTTP_TOO_MANY_REQUESTS:
        return RpcRateLimited(message)
    return RpcError(message, code, data)


class RpcClient:
    """JSON-RPC over HTTP. The constructor opens nothing; `close` releases the connection pool."""

    def __init__(self, url: str, *, timeout_s: float = 10.0, client: httpx.AsyncClient | None = None) -> None:
        self.url = url
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout_s)
        self._owns_client = client is None
        self._ids = itertools.count(1)

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def call(self, method: str, params: list[Any]) -> Any:
        """One request; the `result`, or the mapped exception."""
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        try:
            response = await self._client.post(self.url, json=body)
        except httpx.TimeoutException as exc:
            raise RpcTimeout(f"{method}: no answer from the RPC node in time") from exc
        except httpx.HTTPError as exc:
            raise RpcError(f"{method}: transport error {type(exc).__name__}") from exc
        if response.status_code == HTTP_TOO_MANY_REQUESTS:
            raise RpcRateLimited(f"{method}: rate limited (HTTP 429)", retry_after_s(response))
        try:
            payload = response.json()
        except ValueError as exc:
            raise RpcError(
                f"{method}: HTTP {response.status_code}, body is not JSON", response.status_code
            ) from exc
        if not isinstance(payload, dict):
            raise RpcError(f"{method}: answer is not a JSON object", response.status_code)
        error = payload.get("error")
        if isinstance(error, dict):
            mapped = map_error(error)
            if isinstance(mapped, RpcRateLimited):
                mapped.retry_after_s = retry_after_s(response)
            raise mapped
        if response.status_code >= 400:
            raise RpcError(f"{method}: HTTP {response.status_code}", response.status_code)
        if "result" not in payload:
            raise RpcError(f"{method}: answer has neither result nor error")
        return payload["result"]

    async def get_latest_blockhash(self, commitment: str = "confirmed") -> LatestBlockhash:
        result = await self.call("getLatestBlockhash", [{"commitment": commitment}])
        value = result["value"]
        return LatestBlockhash(
            blockhash=str(value["blockhash"]),
            last_valid_block_height=int(value["lastValidBlockHeight"]),
            slot=int(result["context"]["slot"]),
        )

    async def get_block_height(self, commitment: str = "confirmed") -> int:
        return int(await self.call("getBlockHeight", [{"commitment": commitment}]))

    async def send_transaction(self, tx_base64: str, *, skip_preflight: bool = False) -> str:
        """Broadcast once (maxRetries 0); the transaction's first signature, base58."""
        config = {
            "encoding": "base64",
            "skipPreflight": skip_preflight,
            "preflightCommitment": "confirmed",
            "maxRetries": 0,
        }
        return str(await self.call("sendTransaction", [tx_base64, config]))

    async def simulate_transaction(
        self, tx_base64: str, *, sig_verify: bool = False, replace_recent_blockhash: bool = False
    ) -> Simulation:
        config = {
            "encoding": "base64",
            "commitment": "confirmed",
            "sigVerify": sig_verify,
            "replaceRecentBlockhash": replace_recent_blockhash,
        }
        value = (await self.call("simulateTransaction", [tx_base64, config]))["value"]
        return Simulation(
            err=value.get("err"),
            logs=[str(line) for line in value.get("logs") or []],
            units_consumed=int(value.get("unitsConsumed") or 0),
        )

    async def get_signature_statuses(
        self, signatures: Sequence[str], *, search_history: bool = False
    ) -> list[SignatureStatus | None]:
        """Statuses aligned with `signatures` (≤ 256 a call); None where the node has not seen one."""
        if len(signatures) > 256:
            raise ValueError("getSignatureStatuses takes at most 256 signatures")
        result = await self.call(
            "getSignatureStatuses", [list(signatures), {"searchTransactionHistory": search_history}]
        )
        out: list[SignatureStatus | None] = []
        for entry in result["value"]:
            if entry is None:
                out.append(None)
                continue
            confirmations = entry.get("confirmations")
            out.append(
                SignatureStatus(
                    slot=int(entry.get("slot") or 0),
                    confirmations=None if confirmations is None else int(confirmations),
                    err=entry.get("err"),
                    confirmation_status=entry.get("confirmationStatus"),
                )
            )
        return out

    async def get_transaction(
        self, signature: str, *, encoding: str = "json", commitment: str = "confirmed"
    ) -> dict[str, Any] | None:
        """The transaction with its meta (`json` or `jsonParsed`), v0 included; None while the node
        does not have it (it answers `result: null`)."""
        if encoding not in ("json", "jsonParsed"):
            raise ValueError("get_transaction reads the json or jsonParsed encodings")
        config = {"encoding": encoding, "commitment": commitment, "maxSupportedTransactionVersion": 0}
        result = await self.call("getTransaction", [signature, config])
        if result is not None and not isinstance(result, dict):
            raise RpcError("getTransaction: result is neither null nor an object")
        return result

    async def get_account_info(self, pubkey: str, *, commitment: str = "confirmed") -> AccountInfo | None:
        """The account's raw data (base64 on the wire) and owner; None when it does not exist."""
        result = await self.call("getAccountInfo", [pubkey, {"encoding": "base64", "commitment": commitment}])
        value = result.get("value") if isinstance(result, dict) else None
        if value is None:
            return None
        data = value.get("data")
        if not (isinstance(data, list) and len(data) == 2 and data[1] == "base64"):
            raise RpcError('getAccountInfo: data is not [<base64>, "base64"]')
        try:
            raw = base64.b64decode(str(data[0]), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RpcError("getAccountInfo: data is not valid base64") from exc
        return AccountInfo(
            data=raw,
            owner=str(value.get("owner")),
            lamports=int(value.get("lamports") or 0),
            slot=int(result["context"]["slot"]),
        )
