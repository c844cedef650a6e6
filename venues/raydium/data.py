"""Raydium market data: which pool an AMM v4 swap log belongs to, from the transaction and the pool account.

A `ray_log` names neither its pool nor its mints, and a logs notification carries no account list.
So: `getTransaction` (json or jsonParsed, v0 allowed) gives the transaction's instructions in
execution order (each top-level instruction followed by its inner ones); the k-th AMM v4 swap
instruction there is the one that wrote the k-th swap `ray_log` (one log per swap, in execution order).
Its accounts name the pool (`amm`, account 1) and its vaults. The pool account (`getAccountInfo`,
the 752-byte `AmmInfo`) gives the mints, decimals and fee; it is read once per pool and cached in a
bounded LRU, and its vaults must match the instruction's (a check that we matched the right log).

Reserves are taken from the `ray_log`, not from the vault balances: the log states the reserves the
program priced the swap with (vault balance less the pool's pending PnL), which the vault balances or
the transaction's post-token-balances only approximate. `vault_balances_after` reads the latter for
callers who want the vaults themselves.

Rate limits (HTTP 429) wait for Retry-After (capped) and retry; a transaction the node does not have
yet (`result: null`, it lags the WebSocket by a moment) is asked again after a short pause.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

from chain.borsh import b58decode
from chain.logs import LoggedEvent
from chain.rpc import RpcClient
from core.errors import DecodeError, RpcError, RpcRateLimited, RpcTimeout
from venues.raydium import decoders as raydium
from venues.raydium.config import QUOTE_MINTS, SYMBOLS

log = logging.getLogger(__name__)

_IN_TAGS = (raydium.SWAP_BASE_IN_TAG, raydium.SWAP_BASE_IN_V2_TAG)
_OUT_TAGS = (raydium.SWAP_BASE_OUT_TAG, raydium.SWAP_BASE_OUT_V2_TAG)

K = TypeVar("K")
V = TypeVar("V")


class Lru(OrderedDict[K, V], Generic[K, V]):
    """A bounded mapping that forgets the least recently used entry."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity

    def get_recent(self, key: K) -> V | None:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.capacity:
            self.popitem(last=False)


@dataclass(frozen=True, slots=True)
class SwapAccounts:
    """An AMM v4 swap instruction's tag and the accounts that identify its pool."""

    tag: int
    amm: str
    coin_vault: str
    pc_vault: str


def _account_keys(tx: dict[str, Any]) -> list[str]:
    """Static keys, then (json encoding, v0) the lookup-table keys: writable first, then read-only,
    which is how instruction account indexes count them. jsonParsed lists them all already."""
    keys = tx["transaction"]["message"]["accountKeys"]
    if keys and isinstance(keys[0], dict):
        return [str(k["pubkey"]) for k in keys]
    out = [str(k) for k in keys]
    loaded = (tx.get("meta") or {}).get("loadedAddresses") or {}
    return (
        out + [str(k) for k in loaded.get("writable") or []] + [str(k) for k in loaded.get("readonly") or []]
    )


def _program_and_accounts(ix: dict[str, Any], keys: list[str]) -> tuple[str, list[str]]:
    if "programIdIndex" in ix:  # json: indexes into the account keys
        return keys[int(ix["programIdIndex"])], [keys[int(i)] for i in ix.get("accounts") or []]
    return str(ix.get("programId")), [str(a) for a in ix.get("accounts") or []]  # jsonParsed


def instructions_in_order(tx: dict[str, Any]) -> Iterator[tuple[str, list[str], str | None]]:
    """(program, accounts, base58 data) of every instruction, in execution order. Parsed instructions
    (jsonParsed for known programs) have no `data` and yield None."""
    keys = _account_keys(tx)
    inner: dict[int, list[dict[str, Any]]] = {}
    for group in (tx.get("meta") or {}).get("innerInstructions") or []:
        inner[int(group["index"])] = list(group.get("instructions") or [])
    for index, top in enumerate(tx["transaction"]["message"]["instructions"]):
        for ix in (top, *inner.get(index, [])):
            program, accounts = _program_and_accounts(ix, keys)
            data = ix.get("data")
            yield program, accounts, data if isinstance(data, str) else None


def swap_accounts(tx: dict[str, Any]) -> list[SwapAccounts]:
    """Every AMM v4 swap instruction of a `getTransaction` result, in execution order."""
    out: list[SwapAccounts] = []
    try:
        for program, accounts, data in instructions_in_order(tx):
            if program != raydium.PROGRAM_ID or data is None:
                continue
            raw = b58decode(data, "raydium instruction data")
            if not raw or raw[0] not in raydium.SWAP_TAGS:
                continue
            tag = raw[0]
            if tag in (raydium.SWAP_BASE_IN_V2_TAG, raydium.SWAP_BASE_OUT_V2_TAG):
                vaults = (3, 4)  # token_program, amm, authority, coin_vault, pc_vault, ...
            elif len(accounts) >= 18:
                vaults = (5, 6)  # ..., open_orders, target_orders, coin_vault, pc_vault, ...
            elif len(accounts) == 17:
                vaults = (4, 5)  # the same without target_orders
            else:
                raise DecodeError(f"raydium swap instruction with {len(accounts)} accounts")
            out.append(SwapAccounts(tag, accounts[1], accounts[vaults[0]], accounts[vaults[1]]))
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise DecodeError(
            f"getTransaction result not shaped as documented: {type(exc).__name__} {exc}"
        ) from None
    return out


def vault_balances_after(tx: dict[str, Any], swap: SwapAccounts) -> tuple[int, int] | None:
    """The vaults' raw balances after the transaction (`meta.postTokenBalances`), if both are listed."""
    keys = _account_keys(tx)
    found: dict[str, int] = {}
    for entry in (tx.get("meta") or {}).get("postTokenBalances") or []:
        index = int(entry["accountIndex"])
        if index < len(keys):
            found[keys[index]] = int(entry["uiTokenAmount"]["amount"])
    if swap.coin_vault in found and swap.pc_vault in found:
        return found[swap.coin_vault], found[swap.pc_vault]
    return None


class AsyncPoolResolver(Protocol):
    async def resolve(self, ev: LoggedEvent, ordinal: int) -> raydium.PoolInfo:
        """The pool of the `ordinal`-th (0-based) Raydium swap event of `ev`'s transaction."""
        ...


@dataclass(slots=True)
class ResolverStats:
    transactions: int = 0  # getTransaction calls that returned the transaction
    not_found_retries: int = 0
    rate_limited: int = 0
    pool_reads: int = 0  # getAccountInfo calls
    pool_cache_hits: int = 0


class RaydiumPoolResolver:
    """`resolve(ev, ordinal)` over an `RpcClient`. Concurrent calls for one signature share one
    `getTransaction`; for one pool, one `getAccountInfo`."""

    def __init__(
        self,
        rpc: RpcClient,
        *,
        pool_cache_size: int = 4096,
        attempts: int = 4,
        retry_s: float = 0.2,
        max_retry_after_s: float = 5.0,
        max_concurrent_requests: int = 8,
        quote_mints: tuple[str, ...] = QUOTE_MINTS,
        symbols: dict[str, str] | None = None,
    ) -> None:
        if attempts < 1 or retry_s < 0 or max_retry_after_s < 0 or max_concurrent_requests < 1:
            raise ValueError(
                "attempts >= 1, max_concurrent_requests >= 1, retry_s and max_retry_after_s >= 0"
            )
        self.rpc = rpc
        self.attempts = attempts
        self.retry_s = retry_s
        self.max_retry_after_s = max_retry_after_s
        self.quote_mints = quote_mints
        self.symbols = dict(SYMBOLS if symbols is None else symbols)
        self.stats = ResolverStats()
        # A burst of swaps must not become a burst of requests: public nodes allow ~4 a second per method.
        self._in_flight = asyncio.Semaphore(max_concurrent_requests)
        self._pools: Lru[str, asyncio.Future[raydium.PoolInfo]] = Lru(pool_cache_size)
        self._txs: Lru[str, asyncio.Future[list[SwapAccounts]]] = Lru(256)

    async def resolve(self, ev: LoggedEvent, ordinal: int) -> raydium.PoolInfo:
        swaps = await self._shared(self._txs, ev.signature, lambda: self._swaps_of(ev.signature))
        if not 0 <= ordinal < len(swaps):
            raise DecodeError(f"{ev.signature}: swap log {ordinal} but {len(swaps)} AMM v4 swap instructions")
        swap = swaps[ordinal]
        expected = _IN_TAGS if isinstance(ev.event, raydium.SwapBaseIn) else _OUT_TAGS
        if swap.tag not in expected:
            raise DecodeError(
                f"{ev.signature}: swap log {ordinal} is {type(ev.event).__name__}, ix tag {swap.tag}"
            )
        if swap.amm in self._pools and self._pools[swap.amm].done():
            self.stats.pool_cache_hits += 1
        pool = await self._shared(self._pools, swap.amm, lambda: self._pool_of(swap))
        return pool

    async def _shared(
        self, cache: Lru[str, asyncio.Future[V]], key: str, make: Callable[[], Awaitable[V]]
    ) -> V:
        """One in-flight call per key; a failed one is forgotten so the next event tries again."""
        fut = cache.get_recent(key)
        if fut is None:
            fut = asyncio.ensure_future(make())
            cache.put(key, fut)

            def forget_failure(f: asyncio.Future[V]) -> None:
                if (f.cancelled() or f.exception() is not None) and cache.get(key) is f:
                    del cache[key]

            fut.add_done_callback(forget_failure)
        return await asyncio.shield(fut)

    async def _swaps_of(self, signature: str) -> list[SwapAccounts]:
        for attempt in range(self.attempts):
            tx = await self._call(lambda: self.rpc.get_transaction(signature))
            if tx is not None:
                self.stats.transactions += 1
                return swap_accounts(tx)
            self.stats.not_found_retries += 1
            if attempt + 1 < self.attempts:
                await asyncio.sleep(self.retry_s * (attempt + 1))
        raise RpcError(f"getTransaction {signature}: not found after {self.attempts} attempts")

    async def _pool_of(self, swap: SwapAccounts) -> raydium.PoolInfo:
        self.stats.pool_reads += 1
        account = await self._call(lambda: self.rpc.get_account_info(swap.amm))
        if account is None:
            raise RpcError(f"pool account {swap.amm} not found")
        if account.owner != raydium.PROGRAM_ID:
            raise DecodeError(f"pool account {swap.amm} is owned by {account.owner}, not Raydium AMM v4")
        info = raydium.AmmInfo.decode(account.data)
        if (info.coin_vault, info.pc_vault) != (swap.coin_vault, swap.pc_vault):
            raise DecodeError(f"pool {swap.amm}: the instruction's vaults are not the pool's")
        pool = info.to_pool_info(swap.amm, quote_mints=self.quote_mints)
        base, quote = (pool.coin_mint, pool.pc_mint) if pool.base_is_coin else (pool.pc_mint, pool.coin_mint)
        # Named as Pump.fun swaps are: a known symbol, else the mint's first six characters.
        return replace(pool, pair=f"{self.symbols.get(base, base[:6])}/{self.symbols.get(quote, quote[:6])}")

    async def _call(self, request: Callable[[], Awaitable[V]]) -> V:
        """One RPC call, retried on 429 (after Retry-After, capped) and on timeouts."""
        for attempt in range(self.attempts):
            try:
                async with self._in_flight:
                    return await request()
            except RpcRateLimited as exc:
                self.stats.rate_limited += 1
                if attempt + 1 == self.attempts:
                    raise
                wait = exc.retry_after_s if exc.retry_after_s is not None else self.retry_s * 2**attempt
                await asyncio.sleep(min(wait, self.max_retry_after_s))
            except RpcTimeout:
                if attempt + 1 == self.attempts:
                    raise
                await asyncio.sleep(self.retry_s * 2**attempt)
        raise AssertionError("unreachable")
