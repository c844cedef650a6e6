"""Venue names and kinds: one table, and what it says about pricing."""

from __future__ import annotations

from market.venues import KIND_OF, VenueKind, VenueName, is_bonding_curve, is_constant_product, kind_of


def test_every_name_has_a_kind() -> None:
    assert set(KIND_OF) == set(VenueName)


def test_pricing_follows_the_kind() -> None:
    assert is_bonding_curve("pumpfun") and not is_bonding_curve("raydium")
    assert is_constant_product("raydium") and is_constant_product("orca")
    assert not is_constant_product("jupiter") and not is_constant_product("pumpfun")
    assert kind_of("drift") is VenueKind.PERPS and kind_of("jito") is VenueKind.BUNDLE_RELAY


def test_an_unknown_name_has_no_kind_and_is_no_curve() -> None:
    """The paper venue and the router price an unknown venue's pool as constant product, as before."""
    assert kind_of("newdex") is None
    assert not is_bonding_curve("newdex") and not is_constant_product("newdex")


def test_names_are_plain_strings_by_value() -> None:
    assert VenueName.PUMPFUN == "pumpfun" and VenueName("raydium") is VenueName.RAYDIUM
    assert type(VenueName.PUMPFUN.value) is str
