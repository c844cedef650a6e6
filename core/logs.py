"""Structured logs: one JSON object a line, with a correlation id that follows an event to its fill.

The correlation id is the feature snapshot's id (`"{pair}@{bucket_ms}"`): the snapshot records the raw
record (topic, partition, offset) that opened it, and every downstream id embeds it — signal
`sig:{snapshot}` (`sig:{snapshot}:{strategy}` for strategies other than the ML one), order
`ord:sig:{snapshot}`, rejection `rej:sig:{snapshot}`, fill `fill:ord:sig:…` — so one grep over the
workers' logs follows a decision from its raw record to its fill.
"""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any

CORRELATION_PREFIXES = ("fill:", "ord:", "rej:", "sig:")
_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def correlation_of(any_id: str) -> str:
    """The snapshot id inside any downstream id (an exit order's id is its own correlation)."""
    out = any_id
    stripped = True
    while stripped:
        stripped = False
        for prefix in CORRELATION_PREFIXES:
            if out.startswith(prefix):
                out = out[len(prefix) :]
                stripped = True
    # a strategy's signal is `sig:{snapshot}:{strategy}`: the snapshot id ends with its bucket's digits
    # and a split buy's order legs are `ord:sig:{snapshot}/leg{n}`
    pair, at, rest = out.partition("@")
    return pair + at + rest.split(":", 1)[0].split("/", 1)[0] if at else out


class JsonFormatter(logging.Formatter):
    """Formats a record as JSON; extras passed with `extra={...}` become top-level fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = (
                    value if isinstance(value, str | int | float | bool) or value is None else str(value)
                )
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def worker_logging_config(level: str) -> dict[str, Any]:
    """A dictConfig for Faust workers: JSON lines on stderr (which `solbot run` sends to the worker's log)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "core.logs.JsonFormatter"}},
        "filters": {"repeats": {"()": "core.logs.RepeatFilter", "prefix": "aiokafka"}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "level": level.upper(),
                "filters": ["repeats"],
            }
        },
        "root": {"level": level.upper(), "handlers": ["default"]},
        "loggers": {"aiokafka": {"level": "WARNING"}},
    }


class OutageLog:
    """One warning when a best-effort dependency (Redis) starts failing and one line when it is back, not
    one a batch: an outage of minutes otherwise buries every other line of the worker's log."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self._log = logger
        self._what = what
        self._failures = 0

    def failed(self, exc: BaseException) -> None:
        if self._failures == 0:
            self._log.warning("%s: %s (said once until it works again)", self._what, exc)
        self._failures += 1

    def succeeded(self) -> None:
        if self._failures:
            self._log.info("%s works again after %d failure(s)", self._what, self._failures)
            self._failures = 0


class RepeatFilter(logging.Filter):
    """Lets one of a run of identical lines from loggers under `prefix` through per `window_s`, the next one
    saying how many were held back: aiokafka logs every reconnect attempt, and a broker restart of a minute
    wrote about 15,000 lines into the workers' logs in `make chaos`."""

    def __init__(self, prefix: str = "", window_s: float = 30.0) -> None:
        super().__init__()
        self.prefix = prefix
        self.window_s = window_s
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}  # key -> (window start, held back)

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.prefix):
            return True
        key = (record.name, record.levelno, record.getMessage())
        now = record.created
        start, held = self._seen.get(key, (-math.inf, 0))
        if now - start < self.window_s:
            self._seen[key] = (start, held + 1)
            return False
        if len(self._seen) > 1000:  # a bounded memory: drop the runs that are over
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.window_s}
        self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.getMessage()} ({held} more alike held back in {self.window_s:.0f} s)"
            record.args = None
        return True
