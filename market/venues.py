"""Venue names and what kind of market each is: the vocabulary records, pools and strategies share.

Why here and not only in `venues.registry`: the simulator and the strategies (pure cores, below the venue
adapters) name venues and ask what maths a pool follows, and must not import the adapters to do so. The
registry builds its entries on these names and kinds (it is the one place that says what else a venue
has: program ids, decoders, clients, an execution venue); nothing else spells a venue's name.

A name the table does not know (a record from a newer collector, say) is priced as a constant-product
pool, as every venue other than Pump.fun always was. Members are `str`, but where a name becomes a
record field or a dict key take `.value`: orjson serialises no `str` subclass as a key.
"""

from __future__ import annotations

import enum
from types import MappingProxyType


class VenueName(enum.StrEnum):
    """Every venue solbot knows."""

    PAPER = "paper"
    PUMPFUN = "pumpfun"
    RAYDIUM = "raydium"
    ORCA = "orca"
    JUPITER = "jupiter"
    DRIFT = "drift"
    JITO = "jito"


class VenueKind(enum.StrEnum):
    """What a venue is, which decides how an order there is priced and executed."""

    SIMULATED = "simulated"  # fills computed in process (the paper venue)
    CONSTANT_PRODUCT_AMM = "constant_product_amm"  # x * y = k pools (`market.amm`)
    BONDING_CURVE = "bonding_curve"  # Pump.fun curves (`market.bonding_curve`)
    AGGREGATOR = "aggregator"  # routes across other venues' pools (Jupiter)
    PERPS = "perps"  # perpetual futures (Drift): no spot swap
    BUNDLE_RELAY = "bundle_relay"  # lands other venues' transactions atomically (Jito)


KIND_OF: MappingProxyType[VenueName, VenueKind] = MappingProxyType(
    {
        VenueName.PAPER: VenueKind.SIMULATED,
        VenueName.PUMPFUN: VenueKind.BONDING_CURVE,
        VenueName.RAYDIUM: VenueKind.CONSTANT_PRODUCT_AMM,
        VenueName.ORCA: VenueKind.CONSTANT_PRODUCT_AMM,
        VenueName.JUPITER: VenueKind.AGGREGATOR,
        VenueName.DRIFT: VenueKind.PERPS,
        VenueName.JITO: VenueKind.BUNDLE_RELAY,
    }
)


_KIND_BY_NAME: dict[str, VenueKind] = {name.value: kind for name, kind in KIND_OF.items()}


def kind_of(name: str) -> VenueKind | None:
    """The kind of the venue called `name`; None for a name no venue has (a dict read: hot path)."""
    return _KIND_BY_NAME.get(name)


def is_bonding_curve(name: str) -> bool:
    """Whether pools of this venue are bonding curves (priced with `market.bonding_curve`)."""
    return kind_of(name) is VenueKind.BONDING_CURVE


def is_constant_product(name: str) -> bool:
    """Whether pools of this venue are constant-product AMMs (priced with `market.amm`)."""
    return kind_of(name) is VenueKind.CONSTANT_PRODUCT_AMM
