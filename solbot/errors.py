"""One exception tree for the whole bot, so callers catch by meaning, never by message text."""

from __future__ import annotations


class SolbotError(Exception):
    """Base of every error solbot raises on purpose."""


class ConfigError(SolbotError):
    """A setting is missing or invalid; start-up stops with one line naming it."""


class DecodeError(SolbotError):
    """A message or payload does not match its schema; it belongs on a dead-letter topic."""


class ServiceError(SolbotError):
    """An embedded or external component (broker, Postgres, Redis) could not be started or reached."""


class VenueError(SolbotError):
    """A venue could not execute an order."""


class VenueRejected(VenueError):
    """The venue refused the order (slippage bound, balance, liquidity); retrying will not help."""


class StaleQuote(VenueError):
    """The quote or pool state the order was priced on is too old to trade against."""


class LimitBreached(SolbotError):
    """A risk limit would be exceeded."""


class RateLimited(ServiceError):
    """An external API answered HTTP 429 more often than we were willing to wait for."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
