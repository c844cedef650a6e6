"""The venue registry: what the collectors and the execution agent ask of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from solders.keypair import Keypair

from core.errors import ConfigError
from core.settings import load_settings
from streams.records import PoolState
from venues import registry
from venues.interface import Settlement
from venues.jupiter import config as jupiter_config
from venues.jupiter import decoders as jupiter
from venues.paper.execution import PaperVenue
from venues.pumpfun import decoders as pumpfun
from venues.raydium import decoders as raydium
from venues.raydium.schemas import CPMM_PROGRAM_ID


def test_the_chain_collector_follows_the_same_programs_in_the_same_order() -> None:
    assert registry.followed_programs() == (
        pumpfun.PROGRAM_ID,
        raydium.PROGRAM_ID,
        CPMM_PROGRAM_ID,
        jupiter.PROGRAM_ID,
    )


def test_log_and_account_decoders_are_looked_up_by_program() -> None:
    assert registry.log_decoders() == {
        pumpfun.PROGRAM_ID: pumpfun.LOG_DECODER,
        raydium.PROGRAM_ID: raydium.LOG_DECODER,
        jupiter.PROGRAM_ID: jupiter.LOG_DECODER,
    }
    assert registry.account_decoder(pumpfun.PROGRAM_ID) is pumpfun.ACCOUNT_DECODER
    assert registry.account_decoder(raydium.PROGRAM_ID) is raydium.ACCOUNT_DECODER
    assert registry.account_decoder(jupiter.PROGRAM_ID) is None
    assert registry.account_decoder("11111111111111111111111111111111") is None


def test_solbot_decode_reads_the_venues_with_a_text_decoder() -> None:
    assert registry.decodable() == ("pumpfun", "raydium", "jupiter")


def test_an_unknown_venue_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="newdex"):
        registry.entry("newdex")


def test_building_checks_what_a_venue_needs(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    with pytest.raises(ConfigError, match="executes no orders"):
        registry.build_venue("drift", settings)
    with pytest.raises(ConfigError, match="keypair"):
        registry.build_venue("jupiter", settings)
    with pytest.raises(ConfigError, match="pumpfun venue needs the wallet"):
        registry.build_venue("pumpfun", settings)
    pump = registry.build_venue("pumpfun", settings, registry.VenueContext(keypair=Keypair()))
    assert pump.config.recipients_from_global  # type: ignore[attr-defined]  # Global's, not the constants
    venue = registry.build_venue("jupiter", settings, registry.VenueContext(keypair=Keypair()))
    assert venue.settlement is Settlement.LIFECYCLE
    assert venue.config.url == jupiter_config.DEFAULT_URL  # type: ignore[attr-defined]


def test_the_execution_agent_gets_the_paper_venue(tmp_path: Path) -> None:
    venue = registry.execution_venue(load_settings(data_dir=tmp_path))
    assert isinstance(venue, PaperVenue) and venue.chain is None
    assert venue.settlement is Settlement.IN_TRANSACTION


def test_a_live_order_on_a_trading_bonding_curve_goes_to_the_program_and_the_rest_to_jupiter() -> None:
    def state(venue: str, *, complete: bool = False) -> PoolState:
        return PoolState(
            venue=venue, pool="p", base_mint="b", quote_mint="q", base_decimals=6, quote_decimals=9,
            base_reserve=1, quote_reserve=1, fee_bps=25, complete=complete,
        )  # fmt: skip

    assert registry.live_venue_for(state("pumpfun")) is registry.VenueName.PUMPFUN
    # A curve that sold out has migrated to an AMM: only a route can trade it now.
    assert registry.live_venue_for(state("pumpfun", complete=True)) is registry.VenueName.JUPITER
    for venue in ("raydium", "orca"):
        assert registry.live_venue_for(state(venue)) is registry.VenueName.JUPITER
