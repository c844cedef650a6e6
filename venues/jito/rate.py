"""A token bucket: the one budget of requests every order shares on a rate-limited relay.

Jito's block engine allows about one request per second per IP and region (jito-labs/jito-docs,
`lowlatencytxnsend.md`) and answers 429 beyond it. Sending on a timer per order multiplies that by the
orders in flight; one bucket per client keeps the sum under the limit however many orders there are. A
429 `pause`s the bucket (for the server's Retry-After, else one refill period), so the next requests wait
instead of hammering a limit already hit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """`rate_per_s` tokens a second, at most `burst` saved up. Not thread-safe; one event loop."""

    def __init__(
        self, rate_per_s: float, burst: int = 1, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()
        self._paused_until = float("-inf")
        self._lock = asyncio.Lock()

    def _refill(self) -> float:
        now = self._clock()
        if now > self._stamp:
            self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate_per_s)
            self._stamp = now
        return now

    def wait_s(self) -> float:
        """How long until a token may be taken (0 when one is there now)."""
        now = self._refill()
        paused = max(0.0, self._paused_until - now)
        short = max(0.0, (1.0 - self._tokens) / self.rate_per_s)
        return max(paused, short)

    def try_acquire(self) -> bool:
        """Take a token if one is there now (and nobody is queued for one); never waits."""
        if self._lock.locked() or self.wait_s() > 0:
            return False
        self._tokens -= 1.0
        return True

    async def acquire(self) -> None:
        """Wait for a token, first come first served."""
        async with self._lock:
            while (wait := self.wait_s()) > 0:  # noqa: ASYNC110 - a timed refill, not an event
                await asyncio.sleep(wait)
            self._tokens -= 1.0

    def pause(self, seconds: float | None) -> None:
        """No token for `seconds` (one refill period when the server gave no hint), and none saved."""
        now = self._refill()
        period = seconds if seconds is not None and seconds > 0 else 1.0 / self.rate_per_s
        self._paused_until = max(self._paused_until, now + period)
        self._tokens = min(self._tokens, 0.0)
