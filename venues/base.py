"""The one venue interface: paper now; Jupiter, Pump.fun, Drift and Jito implement the same thing later.

It is deliberately one method. The execution sink reads the wallet inside its Postgres transaction and
hands a read-only copy to the venue; the venue answers with a `Fill` that states exactly what moved.
The sink then books the fill, deriving balance changes only through `mint_flows` — so the venue, not
the sink, is the single authority on amounts, and swapping paper for a live venue changes nothing in
the store. Market outcomes (slippage, balance, liquidity) are *failed fills*, because they are the
order's terminal outcome and must be recorded; a venue raises `VenueRejected` for an order it cannot
even attempt (malformed), and any other `VenueError` for a transient failure worth retrying.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from streams.records import Fill, Order


@runtime_checkable
class Venue(Protocol):
    """Executes one order against a wallet snapshot it must not mutate."""

    name: str

    async def execute(self, order: Order, wallet: Mapping[str, int], now_ms: int) -> Fill:
        """Return the order's terminal fill: what was bought and paid (or why nothing moved)."""
        ...
