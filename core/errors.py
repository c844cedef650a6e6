"""One exception tree for the whole bot, so callers catch by meaning, never by message text."""

from __future__ import annotations


class SolbotError(Exception):
    """Base of every error solbot raises on purpose."""


class ConfigError(SolbotError):
    """A setting is missing or invalid; start-up stops with one line naming it."""


class InputError(SolbotError):
    """A file or argument the user gave is not what the command needs; the command stops with one line."""


class DecodeError(SolbotError):
    """A message or payload does not match its schema; it belongs on a dead-letter topic."""


class ServiceError(SolbotError):
    """An embedded or external component (broker, Postgres, Redis) could not be started or reached."""


class StackConflict(ServiceError):
    """A data dir's server is held by a process its stack file does not record (or that does not answer):
    starting another over it would corrupt or break both, so the command stops with one line instead."""


class TransactionLost(ServiceError):
    """A broker transaction ended without committing (fenced, or its task went to another worker)."""


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


class RpcError(VenueError):
    """A JSON-RPC call failed; `code` is the JSON-RPC error code (or the HTTP status), never parsed text."""

    def __init__(self, message: str, code: int = 0, data: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


class BlockhashNotFound(RpcError):
    """-32002 with err BlockhashNotFound: the node does not know the blockhash (yet, or any more)."""


class AlreadyProcessed(RpcError):
    """-32002 with err AlreadyProcessed: the node has already executed this very transaction (a re-send of
    bytes that landed). Not a failure: the order's status read decides, as after any unconfirmed send."""


class PreflightFailed(RpcError):
    """-32002 otherwise: the preflight simulation of a transaction failed; it was not broadcast."""


class SignatureVerificationFailed(RpcError):
    """-32003: a signature does not verify; re-sending the same bytes cannot help."""


class NodeBehind(RpcError):
    """-32005: the node is behind or unhealthy; try another node or later."""


class MinContextSlotNotReached(NodeBehind):
    """-32016: the node has not reached the `minContextSlot` asked for; `data` holds its `contextSlot`."""


class RpcRateLimited(RpcError, RateLimited):
    """HTTP 429 (or JSON-RPC code 429) from a venue or node: a `RateLimited` that is also a `VenueError`."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        RpcError.__init__(self, message, code=429)
        self.retry_after_s = retry_after_s


class RpcTimeout(RpcError):
    """No answer in time: the request may or may not have reached the server."""


class CircuitOpen(VenueError):
    """The venue's circuit breaker is open after consecutive failures; nothing was attempted."""


class BrokerMismatch(ServiceError):
    """The database's broker-bound state (sink offsets, model checkpoints) was written against another
    broker, or its data are gone; start-up stops with one line naming `solbot reset`."""


class InjectedFault(SolbotError):
    """An exception raised on purpose at a side-effect boundary (`FAULT_INJECT`), to prove recovery."""


class StaleOwner(SolbotError):
    """A newer owner epoch claimed the risk state: this worker's decisions and writes are refused."""
