"""One JSON-over-HTTP GET with the manners public APIs expect: a timeout per request, HTTP 429 honoured
(`Retry-After` when the server sends it, else exponential backoff with jitter), 5xx and timeouts
retried a few times, anything else reported at once. Headers (an API key) are never logged."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson

from core.errors import DecodeError, RateLimited, ServiceError

log = logging.getLogger(__name__)


def retry_after_s(value: str | None, *, now_s: float | None = None) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now_s is None else now_s))


class JsonHttp:
    """A pooled aiohttp session; `start()` opens it (constructors open nothing)."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 5.0,
        max_attempts: int = 4,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = dict(headers or {})
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._rng = rng or random.Random()
        self._session: aiohttp.ClientSession | None = None
        self.rate_limited = 0  # 429 answers seen
        self.retries = 0

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=aiohttp.ClientTimeout(total=self.timeout_s)
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max_s, self.backoff_initial_s * 2**attempt)
        return ceiling / 2 + self._rng.random() * ceiling / 2

    async def get(self, path: str, params: Mapping[str, str | int]) -> Any:
        """GET `path` and parse its JSON body; raises RateLimited, ServiceError or DecodeError."""
        if self._session is None:
            raise RuntimeError("JsonHttp.get before start()")
        url = f"{self.base_url}{path}"
        last = ""
        for attempt in range(self.max_attempts):
            wait: float | None = None
            try:
                async with self._session.get(url, params=dict(params)) as resp:
                    body = await resp.read()
                    if resp.status == 200:
                        try:
                            return orjson.loads(body)
                        except orjson.JSONDecodeError:
                            raise DecodeError(f"GET {path}: response is not JSON") from None
                    if resp.status == 429:
                        self.rate_limited += 1
                        hinted = retry_after_s(resp.headers.get("Retry-After"))
                        wait = (
                            min(hinted, self.backoff_max_s) if hinted is not None else self._backoff(attempt)
                        )
                        last = f"HTTP 429 (retry after {wait:.2f} s)"
                        if attempt == self.max_attempts - 1:
                            raise RateLimited(f"GET {path}: {last}", retry_after_s=wait)
                    elif resp.status >= 500:
                        last = f"HTTP {resp.status}"
                    else:
                        raise ServiceError(
                            f"GET {path}: HTTP {resp.status}: {body[:200].decode('utf-8', 'replace')}"
                        )
            except (TimeoutError, aiohttp.ClientConnectionError) as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if attempt < self.max_attempts - 1:
                self.retries += 1
                delay = wait if wait is not None else self._backoff(attempt)
                log.warning("GET %s: %s; retrying in %.2f s", path, last, delay)
                await asyncio.sleep(delay)
        raise ServiceError(f"GET {path}: gave up after {self.max_attempts} attempts ({last})")
