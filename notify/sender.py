"""The notification sender: never blocks the pipeline, never leaks a secret, gives up politely.

`Notifier.submit` is synchronous and O(1): it puts the notice on each destination's bounded queue (urgent
notices, halts and errors, displace the oldest ordinary one when the queue is full; otherwise the new
notice is dropped) and returns. One task per destination sends, at most `rate_per_min` a minute, each
message up to `max_attempts` times: 429 waits what the answer says (Telegram's
`parameters.retry_after`, else `Retry-After`), 5xx, timeouts and connection errors back off
exponentially with jitter, any other answer gives the message up. Counts per destination and outcome
(`sent`, `failed`, `dropped`) are kept here and in `solbot_notifications_total`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from core import metrics
from notify.notices import Destination, Notice, Request, alert_notice, fill_notice, scrub, wanted

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Policy:
    """How hard to try: the settings' rate, queue and attempts, and the backoff between attempts."""

    rate_per_min: int = 20
    queue_size: int = 200
    max_attempts: int = 5
    timeout_s: float = 5.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    kinds: tuple[str, ...] = ("fills", "halts", "alerts")
    min_level: str = "warning"

    @classmethod
    def from_settings(cls, settings: Any) -> Policy:
        return cls(
            rate_per_min=settings.notify_rate_per_min,
            queue_size=settings.notify_queue_size,
            max_attempts=settings.notify_max_attempts,
            timeout_s=settings.notify_timeout_s,
            kinds=tuple(settings.notify_events),
            min_level=settings.notify_min_level,
        )


@dataclass
class Outbox:
    """One destination's queue and counts."""

    destination: Destination
    urgent: deque[Notice] = field(default_factory=deque)
    normal: deque[Notice] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    idle: asyncio.Event = field(default_factory=asyncio.Event)  # nothing queued and nothing in flight
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    next_send_s: float = 0.0

    def __post_init__(self) -> None:
        self.idle.set()

    def __len__(self) -> int:
        return len(self.urgent) + len(self.normal)

    def pop(self) -> Notice:
        return self.urgent.popleft() if self.urgent else self.normal.popleft()


class Retry(Exception):
    """A try that may succeed later; `after_s` is the server's own wait, if it named one."""

    def __init__(self, why: str, after_s: float | None = None) -> None:
        super().__init__(why)
        self.after_s = after_s


class GiveUp(Exception):
    """An answer that trying again will not change (a 4xx other than 408 and 429)."""


class Notifier:
    """Fills, halts and alerts to every configured destination, off the caller's path."""

    def __init__(
        self,
        destinations: list[Destination],
        policy: Policy | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy or Policy()
        self.outboxes = [Outbox(d) for d in destinations]
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> Notifier | None:
        """The settings' notifier, or None when no destination is configured."""
        from notify.notices import destinations_from

        destinations = destinations_from(settings)
        return cls(destinations, Policy.from_settings(settings)) if destinations else None

    # --- the caller's side: synchronous, bounded -------------------------------------------------------

    def submit(self, notice: Notice) -> bool:
        """Queue `notice` for every destination (starting the senders on first use); False if not wanted."""
        if not wanted(notice, self.policy.kinds, self.policy.min_level):
            return False
        for box in self.outboxes:
            self._enqueue(box, notice)
        self._ensure_started()
        return True

    def alert(self, alert: dict[str, Any]) -> bool:
        """An alert as stored by `store.alerts.raise_alert` (its `on_raised` hook)."""
        return self.submit(alert_notice(alert))

    def fill(self, fill: Any) -> bool:
        return self.submit(fill_notice(fill))

    def _enqueue(self, box: Outbox, notice: Notice) -> None:
        if len(box) >= self.policy.queue_size:
            if notice.urgent and box.normal:
                box.normal.popleft()  # an ordinary notice makes room for a halt or an error
            else:
                self._count(box, "dropped")
                return
            self._count(box, "dropped")
        (box.urgent if notice.urgent else box.normal).append(notice)
        box.idle.clear()
        box.wake.set()

    def _ensure_started(self) -> None:
        if self._tasks:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: `start()` (or the next submit from a loop) starts the senders
        self._tasks = [loop.create_task(self._run(box)) for box in self.outboxes]

    async def start(self) -> None:
        self._ensure_started()

    async def close(self, *, drain_s: float = 0.0) -> None:
        """Stop the senders, after waiting up to `drain_s` for the queues to empty."""
        if drain_s and self._tasks:
            waits = [
                asyncio.ensure_future(b.idle.wait()) for b in self.outboxes if len(b) or not b.idle.is_set()
            ]
            if waits:
                _, late = await asyncio.wait(waits, timeout=drain_s)
                for w in late:
                    w.cancel()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._session is not None:
            await self._session.close()
            self._session = None

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            b.destination.name: {"sent": b.sent, "failed": b.failed, "dropped": b.dropped, "queued": len(b)}
            for b in self.outboxes
        }

    def _count(self, box: Outbox, outcome: str) -> None:
        setattr(box, outcome, getattr(box, outcome) + 1)
        metrics.NOTIFICATIONS.labels(box.destination.name, outcome).inc()

    # --- the sender's side -----------------------------------------------------------------------------

    async def _run(self, box: Outbox) -> None:
        """Send this destination's notices one by one, spaced by the rate limit."""
        interval = 60.0 / self.policy.rate_per_min
        while True:
            while not len(box):
                box.wake.clear()
                await box.wake.wait()
            wait = box.next_send_s - time.monotonic()
            if wait > 0:
                await self._sleep(wait)
            notice = box.pop()
            box.next_send_s = time.monotonic() + interval
            delivered = await self._deliver(box, notice)
            self._count(box, "sent" if delivered else "failed")
            if not len(box):
                box.idle.set()

    async def _deliver(self, box: Outbox, notice: Notice) -> bool:
        """Up to `max_attempts` tries; True once the destination accepted the message."""
        request = box.destination.request(notice)
        for attempt in range(1, self.policy.max_attempts + 1):
            try:
                await self._post(request)
                return True
            except Retry as exc:
                if attempt == self.policy.max_attempts:
                    log.warning(
                        "notification to %s given up after %d tries: %s",
                        box.destination.describe(),
                        attempt,
                        scrub(str(exc), request.secrets),
                    )
                    return False
                await self._sleep(self._backoff(attempt, exc.after_s))
            except GiveUp as exc:
                log.error(
                    "notification to %s refused: %s",
                    box.destination.describe(),
                    scrub(str(exc), request.secrets),
                )
                return False
        return False

    def _backoff(self, attempt: int, after_s: float | None) -> float:
        if after_s is not None:
            return min(after_s, self.policy.backoff_max_s * 5)
        base = min(self.policy.backoff_max_s, self.policy.backoff_initial_s * 2 ** (attempt - 1))
        return base * (0.5 + self._rng.random() / 2)

    async def _post(self, request: Request) -> None:
        """One POST; raises Retry (try again) or GiveUp, with no secret in the text."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.policy.timeout_s))
        try:
            async with self._session.post(request.url, json=request.body) as resp:
                text = await resp.text()
                status = resp.status
                header = resp.headers.get("Retry-After")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise Retry(scrub(f"{type(exc).__name__}: {exc}", request.secrets)) from None
        if 200 <= status < 300:
            return
        detail = scrub(_answer_detail(text), request.secrets)
        if status == 429:
            raise Retry(f"HTTP 429 {detail}", _retry_after(text, header))
        if status >= 500 or status == 408:
            raise Retry(f"HTTP {status} {detail}")
        raise GiveUp(f"HTTP {status} {detail}")


def _answer_detail(text: str) -> str:
    """What the server said, short: Telegram's `description`, else the first 200 characters."""
    import orjson

    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text[:200]
    if isinstance(body, dict) and "description" in body:
        return str(body["description"])[:200]
    return text[:200]


def _retry_after(text: str, header: str | None) -> float | None:
    """Telegram's `parameters.retry_after` (seconds), else the `Retry-After` header's seconds."""
    import orjson

    with contextlib.suppress(orjson.JSONDecodeError, TypeError, ValueError, AttributeError):
        body = orjson.loads(text)
        value = body.get("parameters", {}).get("retry_after")
        if value is not None:
            return float(value)
    if header and header.strip().isdigit():
        return float(header.strip())
    return None
