"""Which bundle each sent transaction went in, and what the block engine last said of it.

Bundle statuses are read opportunistically: at most once per `poll_interval_s`, for up to five bundles
(the least recently read first), and only on a token that is free now, so polling never delays a first
send nor pushes the client over its rate limit. A `Failed` status (every region failed the bundle: it
will not be forwarded) is known at the next poll, not at the blockhash's expiry. A bundle the inflight
call no longer knows (`Invalid`: dropped, or past its 5-minute look-back) is asked of `getBundleStatuses`
next, which still reports it if it landed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from core.errors import VenueError
from venues.interface import RelayVerdict
from venues.jito.execution import MAX_STATUS_IDS, JitoClient

log = logging.getLogger(__name__)

_VERDICT_OF = {
    "Pending": RelayVerdict.PENDING,
    "Landed": RelayVerdict.LANDED,
    "Failed": RelayVerdict.FAILED,
    "Invalid": RelayVerdict.INVALID,
}


class BundleTracker:
    """Bundle ids by signature and their last status, for one Jito client."""

    def __init__(
        self, jito: JitoClient, *, poll_interval_s: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.jito = jito
        self.poll_interval_s = poll_interval_s
        self._clock = clock
        self._bundle_of: dict[str, str] = {}  # signature -> bundle id
        self._verdict: dict[str, RelayVerdict] = {}  # bundle id -> last verdict
        self._read_at: dict[str, float] = {}  # bundle id -> when it was last read
        self._last_poll = float("-inf")
        self.polls = 0

    def sent(self, signature: str, bundle_id: str) -> None:
        self._bundle_of[signature] = bundle_id
        self._verdict.setdefault(bundle_id, RelayVerdict.UNKNOWN)
        self._read_at.setdefault(bundle_id, float("-inf"))

    def forget(self, signature: str) -> None:
        bundle_id = self._bundle_of.pop(signature, None)
        if bundle_id is not None and bundle_id not in self._bundle_of.values():
            self._verdict.pop(bundle_id, None)
            self._read_at.pop(bundle_id, None)

    def bundle_of(self, signature: str) -> str | None:
        return self._bundle_of.get(signature)

    async def verdict(self, signature: str) -> RelayVerdict:
        """The last word on `signature`'s bundle, refreshed first when a poll is due and a token free."""
        bundle_id = self._bundle_of.get(signature)
        if bundle_id is None:
            return RelayVerdict.UNKNOWN
        if self._clock() - self._last_poll >= self.poll_interval_s:
            await self._poll()
        return self._verdict.get(bundle_id, RelayVerdict.UNKNOWN)

    async def _poll(self) -> None:
        self._last_poll = self._clock()
        settled = (RelayVerdict.FAILED, RelayVerdict.LANDED)
        open_ids = [b for b, v in self._verdict.items() if v not in settled]
        if not open_ids:
            return
        open_ids.sort(key=self._read_at.__getitem__)  # the least recently read first
        if self._verdict[open_ids[0]] is RelayVerdict.INVALID:
            lost = [b for b in open_ids if self._verdict[b] is RelayVerdict.INVALID]
            await self._landed_check(lost[:MAX_STATUS_IDS])
            return
        batch = open_ids[:MAX_STATUS_IDS]
        try:
            found = await self.jito.get_inflight_bundle_statuses(batch, wait=False)
        except VenueError as exc:  # no token, a 429, a timeout: the next poll asks again
            log.debug("jito inflight statuses not read (%s)", type(exc).__name__)
            return
        self.polls += 1
        now = self._clock()
        for bundle_id, status in zip(batch, found, strict=False):
            self._read_at[bundle_id] = now
            if status is not None:
                self._verdict[bundle_id] = _VERDICT_OF[status.status]

    async def _landed_check(self, batch: list[str]) -> None:
        try:
            found = await self.jito.get_bundle_statuses(batch, wait=False)
        except VenueError as exc:
            log.debug("jito bundle statuses not read (%s)", type(exc).__name__)
            return
        self.polls += 1
        now = self._clock()
        for bundle_id, status in zip(batch, found, strict=False):
            self._read_at[bundle_id] = now
            if status is not None and status.err in (None, {"Ok": None}):
                self._verdict[bundle_id] = RelayVerdict.LANDED
