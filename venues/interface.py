"""The one venue interface, paper and live alike: prepare, broadcast, finalize, and `execute` on top.

Every venue implements the same three life-cycle hooks:

* `prepare(order, wallet)` prices the order now and builds (and signs) what would execute it. Nothing
  leaves the process. A market outcome known already (slippage, balance, liquidity) is `Refused(reason)`;
  an order the venue cannot even attempt raises `VenueRejected`; a transient failure raises a
  `VenueError` that `retryable` says may be tried again.
* `broadcast(raw_base64)` sends the stored bytes; sending them again sends the same signature.
* `finalize(order, landing, now_ms)` books what landed as the order's terminal `Fill`.

Confirmation is not a hook: whether a signature landed is the chain's answer, and asking it is the
driver's job, because a driver batches the status reads of every order in flight into shared calls.

Two drivers run those hooks, and `settlement` says which one a venue needs:

* `Settlement.IN_TRANSACTION` (paper): `execute` runs prepare -> broadcast -> finalize back to back. It is
  pure and in process, so the execution sink calls it inside its Postgres transaction, against the
  wallet it locked there, and a rolled-back batch simply runs again (the paper venue lands when it
  books: settling on the local chain is idempotent per order).
* `Settlement.LIFECYCLE` (Jupiter, Pump.fun): `venues.lifecycle.OrderLifecycle` runs the hooks with a
  Postgres write between each step (the signed bytes are stored before they are sent), polls the chain
  until the transaction lands or is proven expired, and resumes an order from what is stored after a
  restart. Network round trips inside the sink's transaction would hold its row locks for seconds (and
  the life cycle's own writes would wait on the sink's uncommitted order row), so these venues run
  outside it; `execute` refuses rather than run them there without persistence.

Why one interface rather than a `Venue` for paper and a `TxVenue` for live: the next step (live trading)
drives paper and live through the same life cycle, finds in-flight orders again at start
(`OrderLifecycle.pending_order_ids`) and books fills from what landed rather than from the quote, which
is a change inside `finalize` alone. The wallet snapshot given to `prepare` and `execute` is read-only;
the sink derives balance changes only from the fill (`market.fills.mint_flows`), so the venue is the one
authority on amounts.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar

from core.errors import PreflightFailed, SignatureVerificationFailed, VenueError, VenueRejected
from market.fills import FILLED, failed_fill, fill_id
from streams.records import Fill, Order, PoolState

if TYPE_CHECKING:
    from chain.rpc import RpcClient

EMPTY_WALLET: Mapping[str, int] = MappingProxyType({})


class RelayVerdict(enum.StrEnum):
    """What a relay (Jito) says of a transaction it was given, before the chain does. Only FAILED ends an
    order early (the relay will not forward it); the others leave the chain's answer to decide."""

    UNKNOWN = "unknown"  # no relay, or not asked yet
    PENDING = "pending"
    LANDED = "landed"
    INVALID = "invalid"  # the relay does not know it (dropped, or older than its look-back)
    FAILED = "failed"


class Settlement(enum.StrEnum):
    """Where a venue's fills may be computed: see the module docstring."""

    IN_TRANSACTION = "in_transaction"
    LIFECYCLE = "lifecycle"


@dataclass(frozen=True, slots=True)
class PreparedTx:
    """What `prepare` built for one order: signed bytes ready to send, and what they move if they land.

    `raw_base64` is empty when there is nothing to send (the paper venue settles when it books).
    Amounts are raw units: `in_amount` of the mint the order spends, `out_amount` of the one it receives.
    """

    signature: str
    raw_base64: str
    last_valid_block_height: int
    in_amount: int
    out_amount: int
    unit_limit: int
    unit_price: int
    fee_quote: int = 0

    def landing(self, signature: str | None = None) -> Landing:
        """What booking this transaction as landed means, if it moved exactly what it was built for."""
        return Landing(signature or self.signature, self.in_amount, self.out_amount, self.fee_quote)


@dataclass(frozen=True, slots=True)
class Refused:
    """A market outcome known before anything was signed: the order fails with `reason` (a
    `market.fills` reason code) and nothing is sent."""

    reason: str


@dataclass(frozen=True, slots=True)
class Landing:
    """What an order's transaction moved once it landed (raw units), as `finalize` books it."""

    signature: str
    in_amount: int
    out_amount: int
    fee_quote: int = 0
    fee_lamports: int = 0  # the transaction's network fee, paid in SOL by the fee payer (the wallet)


def human_price(base_amount: int, quote_amount: int, state: PoolState) -> float:
    """Quote per base in human units; 0.0 when no base moved."""
    if base_amount <= 0:
        return 0.0
    return (quote_amount / 10**state.quote_decimals) / (base_amount / 10**state.base_decimals)


def validate_order(order: Order) -> None:
    """Raise `VenueRejected` for an order no venue can attempt: not a buy or sell, or bad amounts."""
    if order.side not in ("buy", "sell"):
        raise VenueRejected(f"order {order.id}: side must be 'buy' or 'sell', not {order.side!r}")
    if order.amount_in <= 0 or order.min_amount_out < 0:
        raise VenueRejected(f"order {order.id}: amount_in must be > 0 and min_amount_out >= 0")


def retryable(exc: BaseException) -> bool:
    """Whether the same step may succeed if tried again. Timeouts, 429s, an unknown blockhash, a node
    behind or an open breaker may; a rejected order, a failed preflight or a bad signature never will."""
    if not isinstance(exc, VenueError):
        return False
    return not isinstance(exc, VenueRejected | PreflightFailed | SignatureVerificationFailed)


class Venue(abc.ABC):
    """One venue: the three life-cycle hooks, and `execute` for the in-transaction driver."""

    name: str
    settlement: ClassVar[Settlement]

    async def start(self) -> None:
        """Open what the venue needs (constructors open nothing and capture no event loop)."""
        return None

    async def close(self) -> None:
        """Release what `start` (or first use) opened."""
        return None

    @abc.abstractmethod
    async def prepare(self, order: Order, wallet: Mapping[str, int]) -> PreparedTx | Refused:
        """Price, build and sign; never send. `wallet` is a read-only snapshot."""

    @abc.abstractmethod
    async def broadcast(self, raw_base64: str) -> None:
        """Send stored bytes once; the driver may call it again with the same bytes."""

    def finalize(self, order: Order, landing: Landing, now_ms: int) -> Fill:
        """The order's fill from what landed: base and quote as the order's side maps in and out."""
        state = order.pool_state
        if order.side == "buy":
            base, quote = landing.out_amount, landing.in_amount
        else:
            base, quote = landing.in_amount, landing.out_amount
        return Fill(
            id=fill_id(order.id),
            order_id=order.id,
            pair=order.pair,
            side=order.side,
            status=FILLED,
            reason="",
            venue=order.venue,
            pool=order.pool,
            base_amount=base,
            quote_amount=quote,
            fee_quote=landing.fee_quote,
            network_fee_lamports=landing.fee_lamports,
            price=human_price(base, quote, state),
            base_decimals=state.base_decimals,
            quote_decimals=state.quote_decimals,
            signature=landing.signature,
            ts_ms=order.ts_ms,
            origin_ms=order.origin_ms,
            filled_ms=now_ms,
        )

    async def execute(self, order: Order, wallet: Mapping[str, int], now_ms: int) -> Fill:
        """The order's terminal fill, hooks run back to back: for `IN_TRANSACTION` venues only."""
        if self.settlement is not Settlement.IN_TRANSACTION:
            raise VenueError(
                f"venue {self.name} sends real transactions: drive it with venues.lifecycle.OrderLifecycle, "
                "outside the execution sink's transaction"
            )
        prepared = await self.prepare(order, wallet)
        if isinstance(prepared, Refused):
            return failed_fill(order, now_ms, prepared.reason)
        await self.broadcast(prepared.raw_base64)
        return self.finalize(order, prepared.landing(), now_ms)


class TransactionVenue(Venue):
    """A venue that signs Solana transactions for one wallet and sends them through `rpc` (or a relay):
    its fills are driven by `venues.lifecycle.OrderLifecycle`, which confirms them through `rpc` too."""

    settlement: ClassVar[Settlement] = Settlement.LIFECYCLE
    rpc: RpcClient

    def address(self) -> str | None:
        """The signing wallet's address (the life cycle searches its transactions by memo)."""
        return None

    async def rebroadcast(self, raw_base64: str) -> None:
        """Send stored bytes again while unconfirmed; a relay with a rate limit may skip it."""
        await self.broadcast(raw_base64)

    async def relay_verdict(self, signature: str) -> RelayVerdict:
        """The relay's word on a sent transaction; UNKNOWN for a venue that sends to the RPC node."""
        return RelayVerdict.UNKNOWN

    def observe_landing(self, landed: bool) -> None:
        """A sent transaction's fate (landed, or lost: expired or failed at the relay), for the fees."""
        return None
