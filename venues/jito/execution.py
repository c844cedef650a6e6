"""Jito's block engine (docs/protocols §3): the bundle relay client (sendBundle, getBundleStatuses,
getInflightBundleStatuses, getTipAccounts, the tip floor) and the tip transfer.

Every block-engine request takes a token from one `TokenBucket` (about 1 request/s per IP and region by
default): a first send waits for its token, a re-send or a status poll is skipped when none is free
(`try_send_bundle`, `venues.jito.status`), and a 429 pauses the bucket. The tip floor is another host
(`bundles.jito.wtf`) and is not counted against it.

The tip is a plain SOL transfer to one of the 8 tip accounts placed INSIDE the main transaction (not a
separate one), so nobody can unbundle the swap and keep the tip ("uncle bandit"), and never through an
address lookup table. The account is chosen by the transaction's order id hash, spreading load evenly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import httpx
from solders.instruction import Instruction
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from chain.rpc import JsonRpcTransport
from core import metrics
from core.errors import RateLimited, VenueError
from venues.fee_policy import TipFloor
from venues.fees import MIN_JITO_TIP_LAMPORTS
from venues.jito.rate import TokenBucket
from venues.jito.schemas import (
    BundleStatus,
    InflightBundleStatus,
    parse_bundle_status,
    parse_inflight_status,
)

TIP_ACCOUNTS: tuple[Pubkey, ...] = tuple(
    Pubkey.from_string(address)
    for address in (
        "96gYZGLnJYVFmbjzopPSU6QiEV5fGqZNyN9nmNhvrZU5",
        "HFqU5x63VTqvQss8hp11i4wVV8bD44PvwucfZ2bU7gRe",
        "Cw8CFyM9FkoMi7K7Crf6HNQqf4uEMzpKw6QNghXLvLkY",
        "ADaUMid9yfUytqMBgopwjb2DTLSokTSzL1zt6iGPaS49",
        "DfXygSm4jCyNCybVYYK6DwvWqjKee8pbDmJGcLWNDXjh",
        "ADuUkR4vqLUMWXxW9gh6D6L8pMSawimctcNZ5pGwDcEt",
        "DttWaMuVvTiduZRnguLF7jNxTgiMBZ1hyAumKUiL2KRL",
        "3AVi9Tg9Uo68tJfuvoKvqKNWKkC5wPdSSdeBnizKZ6jT",
    )
)
MAX_BUNDLE_TRANSACTIONS = 5
MAX_STATUS_IDS = 5  # getBundleStatuses / getInflightBundleStatuses
DEFAULT_REQUESTS_PER_S = 1.0  # the documented default limit, per IP and region
TIP_FLOOR_URL = "https://bundles.jito.wtf/api/v1/bundles/tip_floor"


def tip_account(key: str, accounts: Sequence[Pubkey] = TIP_ACCOUNTS) -> Pubkey:
    """One of the tip accounts (the block engine's `getTipAccounts`, else the published eight), picked
    deterministically from `key` (e.g. the order id)."""
    return accounts[hashlib.sha256(key.encode("utf-8")).digest()[0] % len(accounts)]


def tip_instruction(
    payer: Pubkey, lamports: int, key: str, accounts: Sequence[Pubkey] = TIP_ACCOUNTS
) -> Instruction:
    if lamports < MIN_JITO_TIP_LAMPORTS:
        raise ValueError(f"a Jito tip must be at least {MIN_JITO_TIP_LAMPORTS} lamports, not {lamports}")
    to = tip_account(key, accounts)
    return transfer(TransferParams(from_pubkey=payer, to_pubkey=to, lamports=lamports))


class JitoClient:
    """JSON-RPC to `<block engine>/api/v1/bundles`, on the shared transport (`chain.rpc.JsonRpcTransport`:
    its timeout, 429 and error-code policy), every request through `bucket`. Opens nothing until the first
    call."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 10.0,
        auth_uuid: str | None = None,
        client: httpx.AsyncClient | None = None,
        requests_per_s: float = DEFAULT_REQUESTS_PER_S,
        tip_floor_url: str = TIP_FLOOR_URL,
    ) -> None:
        self.url = url
        self.tip_floor_url = tip_floor_url
        self.bucket = TokenBucket(requests_per_s)
        self.rate_limited = 0
        headers = {"x-jito-auth": auth_uuid} if auth_uuid else {}
        self._rpc = JsonRpcTransport(url, timeout_s=timeout_s, headers=headers, name="jito", client=client)
        self._http = client
        self._owns_http = client is None
        self._timeout_s = timeout_s

    async def close(self) -> None:
        await self._rpc.close()
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _call(self, method: str, params: list[Any], *, wait: bool = True) -> Any:
        """One block-engine request on a token: waited for, or with `wait=False` taken only if one is
        free now (else nothing is sent: `TokenUnavailable`). A 429 pauses the bucket for everyone."""
        if wait:
            await self.bucket.acquire()
        elif not self.bucket.try_acquire():
            raise TokenUnavailable(method)
        try:
            result = await self._rpc.call(method, params)
        except RateLimited as exc:
            self.rate_limited += 1
            self.bucket.pause(exc.retry_after_s)
            metrics.JITO_REQUESTS.labels(method, "rate_limited").inc()
            raise
        except VenueError:
            metrics.JITO_REQUESTS.labels(method, "error").inc()
            raise
        metrics.JITO_REQUESTS.labels(method, "ok").inc()
        return result

    async def send_bundle(self, transactions_base64: Sequence[str]) -> str:
        """Send 1 to 5 signed transactions, run atomically in order; returns the bundle id. Waits for a
        token."""
        return str(await self._call("sendBundle", _bundle_params(transactions_base64)))

    async def try_send_bundle(self, transactions_base64: Sequence[str]) -> str | None:
        """`send_bundle` if a token is free now, else None (nothing sent): for re-sends, which may wait."""
        try:
            return str(await self._call("sendBundle", _bundle_params(transactions_base64), wait=False))
        except TokenUnavailable:
            return None

    async def get_bundle_statuses(
        self, bundle_ids: Sequence[str], *, wait: bool = True
    ) -> list[BundleStatus | None]:
        """Landed bundles only (None for any other), from the recent status cache."""
        result = await self._call("getBundleStatuses", [_status_ids(bundle_ids)], wait=wait)
        return [None if entry is None else parse_bundle_status(entry) for entry in result["value"]]

    async def get_inflight_bundle_statuses(
        self, bundle_ids: Sequence[str], *, wait: bool = True
    ) -> list[InflightBundleStatus | None]:
        """Each bundle's auction outcome (5-minute look-back): Invalid, Pending, Failed or Landed."""
        result = await self._call("getInflightBundleStatuses", [_status_ids(bundle_ids)], wait=wait)
        found: list[InflightBundleStatus | None] = []
        for entry in result["value"]:
            status = None if entry is None else parse_inflight_status(entry)
            if status is not None:
                metrics.JITO_BUNDLES.labels(status.status).inc()
            found.append(status)
        return found

    async def get_tip_accounts(self) -> list[str]:
        """The block engine's current tip accounts (base58); `TIP_ACCOUNTS` holds the published eight."""
        return [str(account) for account in await self._call("getTipAccounts", [])]

    async def tip_floor(self) -> TipFloor:
        """Landed tips by percentile (`GET …/bundles/tip_floor`, SOL floats), in lamports."""
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._timeout_s)
        try:
            response = await self._http.get(self.tip_floor_url)
        except httpx.HTTPError as exc:
            raise VenueError(f"jito tip floor: transport error {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise VenueError(f"jito tip floor: HTTP {response.status_code}")
        return TipFloor.parse(response.json())


class TokenUnavailable(VenueError):
    """No request token free now: the request was not sent (a re-send or poll that may wait)."""


def _bundle_params(transactions_base64: Sequence[str]) -> list[Any]:
    if not 1 <= len(transactions_base64) <= MAX_BUNDLE_TRANSACTIONS:
        raise ValueError(f"a bundle holds 1 to {MAX_BUNDLE_TRANSACTIONS} transactions")
    return [list(transactions_base64), {"encoding": "base64"}]


def _status_ids(bundle_ids: Sequence[str]) -> list[str]:
    if not 1 <= len(bundle_ids) <= MAX_STATUS_IDS:
        raise ValueError(f"bundle status calls take 1 to {MAX_STATUS_IDS} ids")
    return list(bundle_ids)
