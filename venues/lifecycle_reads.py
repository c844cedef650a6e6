"""The life cycle's shared reads and its breaker: a circuit breaker per venue, and the batcher that makes
every order waiting on the chain share one status call (and one height or epoch read) per moment."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from chain.rpc import EpochInfo, RpcClient, SignatureStatus
from core.errors import CircuitOpen


class CircuitBreaker:
    """Opens after `threshold` consecutive failures; half-opens (one trial) after `cooldown_s`."""

    def __init__(
        self, threshold: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.times_opened = 0

    def check(self) -> None:
        if self.opened_at is None:
            return
        waited = self._clock() - self.opened_at
        if waited < self.cooldown_s:
            raise CircuitOpen(f"circuit open for another {self.cooldown_s - waited:.2f}s")

    def remaining_s(self) -> float:
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.cooldown_s - (self._clock() - self.opened_at))

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            if self.opened_at is None:
                self.times_opened += 1
            self.opened_at = self._clock()


class StatusBatcher:
    """Coalesces concurrent signature-status and block-height reads into shared RPC calls."""

    MAX_SIGNATURES = 256  # getSignatureStatuses' limit

    def __init__(self, rpc: RpcClient, linger_s: float = 0.005) -> None:
        self.rpc = rpc
        self.linger_s = linger_s
        self._waiting: dict[tuple[str, bool], list[asyncio.Future[SignatureStatus | None]]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._height: asyncio.Task[int] | None = None
        self._epoch: asyncio.Task[EpochInfo] | None = None
        self.calls = 0

    async def status(self, signature: str, *, search_history: bool = False) -> SignatureStatus | None:
        """This signature's status from the next shared call; raises that call's error."""
        future: asyncio.Future[SignatureStatus | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault((signature, search_history), []).append(future)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def block_height(self) -> int:
        """The block height, joining a request already in flight if there is one: that only makes the
        reading older, which a proof of expiry tolerates (heights only grow)."""
        if self._height is None or self._height.done():
            self.calls += 1
            self._height = asyncio.create_task(self.rpc.get_block_height())
        return await asyncio.shield(self._height)

    async def epoch_info(self) -> EpochInfo:
        """A slot and the height at it, joining a read in flight (an older reading only delays a proof)."""
        if self._epoch is None or self._epoch.done():
            self.calls += 1
            self._epoch = asyncio.create_task(self.rpc.get_epoch_info())
        return await asyncio.shield(self._epoch)

    async def _flush(self) -> None:
        await asyncio.sleep(self.linger_s)
        while self._waiting:
            flag = next(iter(self._waiting))[1]
            keys = [key for key in self._waiting if key[1] == flag][: self.MAX_SIGNATURES]
            batch = {key: self._waiting.pop(key) for key in keys}
            self.calls += 1
            try:
                found = await self.rpc.get_signature_statuses([sig for sig, _ in keys], search_history=flag)
            except Exception as exc:  # every waiter gets the error and decides (retry, back off) itself
                for futures in batch.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                continue
            for key, status in zip(keys, found, strict=True):
                for future in batch[key]:
                    if not future.done():
                        future.set_result(status)
