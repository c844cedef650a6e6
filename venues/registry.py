"""The venue registry: one entry per venue, saying what it is and what it has. Code asks it, never a name.

An entry names the venue's kind (`market.venues`), its on-chain programs, the log subscriptions the
chain collector opens for it, its decoders (program id -> log decoder, account owner -> account
decoder, and the text decoder `solbot decode` uses), its market-data client, its bundle relay client,
its capabilities, and how to build its execution venue from the settings. The generic collectors read
the decoder tables from here; the execution agent builds its venue with `execution_venue`; the contract suite
(`tests/venues/contract/`) runs over every entry and skips a case by capability.

Adding a venue: a folder `venues/<name>/` (config, schemas, decoders, data, execution: the files it
needs), its name and kind in `market.venues`, one entry below.

Execution venues are built lazily (the builders import their modules) so that importing the registry
for its decoders costs no signing or HTTP stack.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from chain.logs import DecodedLogs, ProgramLogDecoder, walk_logs
from core.errors import ConfigError
from market.venues import KIND_OF, VenueKind, VenueName, is_bonding_curve, is_constant_product, kind_of
from streams.records import PoolState
from venues.drift import schemas as drift_schemas
from venues.drift.data import DriftClient
from venues.interface import Settlement, Venue
from venues.jito.execution import JitoClient
from venues.jupiter import decoders as jupiter_decoders
from venues.jupiter.data import JupiterClient
from venues.pumpfun import decoders as pumpfun_decoders
from venues.raydium import decoders as raydium_decoders
from venues.raydium.data import RaydiumPoolResolver
from venues.raydium.schemas import CPMM_PROGRAM_ID

if TYPE_CHECKING:
    import httpx
    from solders.keypair import Keypair

    from chain.local import LocalChain
    from chain.rpc import RpcClient
    from core.settings import Settings
    from venues.fee_source import FeeSource
    from venues.fees import PriorityFeePolicy, TipPolicy
    from venues.jupiter.config import JupiterConfig
    from venues.pumpfun.config import PumpFunConfig

__all__ = [
    "KIND_OF",
    "REGISTRY",
    "AccountDecoder",
    "Capability",
    "VenueContext",
    "VenueEntry",
    "VenueKind",
    "VenueName",
    "account_decoder",
    "build_venue",
    "decodable",
    "decode_transaction_logs",
    "entry",
    "execution_venue",
    "followed_programs",
    "is_bonding_curve",
    "is_constant_product",
    "jito_client",
    "kind_of",
    "live_venue_for",
    "log_decoders",
]


class Capability(enum.StrEnum):
    """What a venue can do; the contract suite runs a case only on venues that declare what it needs."""

    SPOT_SWAP = "spot_swap"  # executes buy/sell `Order`s through `venues.interface.Venue`
    NETWORK = "network"  # talks to a remote node or API: transient failures can happen
    LOG_EVENTS = "log_events"  # decodes its programs' log events (the chain collector)
    POOL_ACCOUNTS = "pool_accounts"  # decodes its pool accounts into `PoolState`s
    MARKET_DATA = "market_data"  # has an HTTP market-data client
    PERP_ORDERS = "perp_orders"  # encodes perp order instructions (no spot swap)
    BUNDLE_RELAY = "bundle_relay"  # lands other venues' signed transactions as atomic bundles


class AccountDecoder(Protocol):
    """A followed account's data (owned by one of the venue's programs) as a `PoolState`."""

    def parse_to_pool_state(
        self,
        address: str,
        data: bytes,
        *,
        base_mint: str,
        fee_bps: int,
        ts_ms: int,
        slot: int,
        received_ms: int,
        creator_fee_bps: int = 0,
    ) -> PoolState | None: ...


@dataclass(frozen=True, slots=True)
class VenueContext:
    """What building an execution venue may use besides the settings. Each builder takes what it needs
    and raises `ConfigError` naming what is missing: a signing key is unlocked by the caller (the
    keystore), never read here."""

    chain: LocalChain | None = None  # the paper venue settles on it
    rpc: RpcClient | None = None
    keypair: Keypair | None = None
    http: httpx.AsyncClient | None = None
    jito: JitoClient | None = None
    jupiter: JupiterConfig | None = None
    pumpfun: PumpFunConfig | None = None
    fees: PriorityFeePolicy | FeeSource | None = None  # None: the landing-driven policy of the settings
    tips: TipPolicy | None = None


Builder = Callable[["Settings", VenueContext], Venue]


@dataclass(frozen=True, slots=True)
class VenueEntry:
    """One venue, as the rest of the bot may ask about it."""

    name: VenueName
    capabilities: frozenset[Capability]
    program_ids: tuple[str, ...] = ()  # the venue's on-chain programs
    followed_programs: tuple[str, ...] = ()  # `logsSubscribe` per program, in this order
    log_decoders: Mapping[str, ProgramLogDecoder] = field(default_factory=dict)  # program id -> decoder
    account_decoders: Mapping[str, AccountDecoder] = field(default_factory=dict)  # owner -> decoder
    decode_text: Callable[[str], Any] | None = None  # one log line or its base64 -> event (`solbot decode`)
    data_client: type | None = None  # the market-data client (`venues.<name>.data`)
    relay: type[JitoClient] | None = None  # the bundle relay client: `relay(url, client=...)`
    build: Builder | None = None  # its execution venue

    def __post_init__(self) -> None:  # entries are shared by every caller: their tables are read-only
        object.__setattr__(self, "log_decoders", MappingProxyType(dict(self.log_decoders)))
        object.__setattr__(self, "account_decoders", MappingProxyType(dict(self.account_decoders)))

    @property
    def kind(self) -> VenueKind:
        return KIND_OF[self.name]

    def has(self, capability: Capability) -> bool:
        return capability in self.capabilities


def _require(value: Any, what: str, venue: VenueName) -> Any:
    if value is None:
        raise ConfigError(f"building the {venue} venue needs {what}")
    return value


def _paper(settings: Settings, context: VenueContext) -> Venue:
    from venues.paper.execution import PaperVenue

    return PaperVenue(context.chain)


def _rpc(settings: Settings, context: VenueContext) -> RpcClient:
    from chain.rpc import RpcClient

    return context.rpc if context.rpc is not None else RpcClient(settings.solana_rpc_url)


def _fees(
    settings: Settings, context: VenueContext, rpc: RpcClient, venue: VenueName
) -> PriorityFeePolicy | FeeSource:
    """The context's fixed fees when given (tests), else the landing-driven policy from the settings,
    with Jito's tip floor when a Jito client is there."""
    if context.fees is not None:
        return context.fees
    from venues.fee_policy import FeePolicy
    from venues.fee_source import LandingFees, fee_limits

    floor = context.jito.tip_floor if context.jito is not None else None
    return LandingFees(rpc, FeePolicy(fee_limits(settings)), venue=venue.value, tip_floor=floor)


def _pumpfun(settings: Settings, context: VenueContext) -> Venue:
    from venues.pumpfun.config import PumpFunConfig
    from venues.pumpfun.execution import PumpFunVenue

    # Without a config the fee recipients are the Global account's, read by the venue (docs/protocols §1.3).
    config = context.pumpfun or PumpFunConfig(recipients_from_global=True, trade_v3=settings.pumpfun_trade_v3)
    keypair = _require(context.keypair, "the wallet's unlocked keypair", VenueName.PUMPFUN)
    rpc = _rpc(settings, context)
    return PumpFunVenue(rpc, keypair, config, fees=_fees(settings, context, rpc, VenueName.PUMPFUN))


def _jupiter(settings: Settings, context: VenueContext) -> Venue:
    from venues.jupiter.config import JupiterConfig
    from venues.jupiter.execution import JupiterVenue

    keypair = _require(context.keypair, "the wallet's unlocked keypair", VenueName.JUPITER)
    config = context.jupiter
    if config is None:
        key = settings.jupiter_api_key.get_secret_value() if settings.jupiter_api_key is not None else ""
        base = settings.jupiter_url or settings.jupiter_api_url
        bundles = settings.live_venue == "jito"
        config = JupiterConfig(
            url=f"{base.rstrip('/')}/swap/v1",
            api_key=key,
            priority_fee_in_bundles=settings.jito_priority_fee,
            use_jito=bundles,
        )
        if bundles and context.jito is None:  # `live_venue = "jito"`: the settings' block engine
            context = replace(context, jito=jito_client(settings, client=context.http))
    if config.use_jito:
        _require(context.jito, "a Jito client (use_jito)", VenueName.JUPITER)
    rpc = _rpc(settings, context)
    return JupiterVenue(
        rpc,
        keypair,
        config,
        fees=_fees(settings, context, rpc, VenueName.JUPITER),
        tips=context.tips,
        jito=context.jito,
        client=context.http,
    )


_ENTRIES = (
    VenueEntry(
        VenueName.PAPER,
        frozenset({Capability.SPOT_SWAP}),
        build=_paper,
    ),
    VenueEntry(
        VenueName.PUMPFUN,
        frozenset(
            {Capability.SPOT_SWAP, Capability.NETWORK, Capability.LOG_EVENTS, Capability.POOL_ACCOUNTS}
        ),
        program_ids=(pumpfun_decoders.PROGRAM_ID,),
        followed_programs=(pumpfun_decoders.PROGRAM_ID,),
        log_decoders={pumpfun_decoders.PROGRAM_ID: pumpfun_decoders.LOG_DECODER},
        account_decoders={pumpfun_decoders.PROGRAM_ID: pumpfun_decoders.ACCOUNT_DECODER},
        decode_text=pumpfun_decoders.decode_text,
        build=_pumpfun,
    ),
    VenueEntry(
        VenueName.RAYDIUM,
        frozenset(
            {Capability.NETWORK, Capability.LOG_EVENTS, Capability.POOL_ACCOUNTS, Capability.MARKET_DATA}
        ),
        program_ids=(raydium_decoders.PROGRAM_ID, CPMM_PROGRAM_ID),
        # CPMM has no decoder yet; following it keeps its transactions' Pump.fun / Jupiter legs (decoded by
        # the walker) and costs nothing else.
        followed_programs=(raydium_decoders.PROGRAM_ID, CPMM_PROGRAM_ID),
        log_decoders={raydium_decoders.PROGRAM_ID: raydium_decoders.LOG_DECODER},
        account_decoders={raydium_decoders.PROGRAM_ID: raydium_decoders.ACCOUNT_DECODER},
        decode_text=raydium_decoders.decode_text,
        data_client=RaydiumPoolResolver,
    ),
    # The simulator's second constant-product venue: no adapter pieces (paper fills its orders).
    VenueEntry(VenueName.ORCA, frozenset()),
    VenueEntry(
        VenueName.JUPITER,
        frozenset({Capability.SPOT_SWAP, Capability.NETWORK, Capability.LOG_EVENTS, Capability.MARKET_DATA}),
        program_ids=(jupiter_decoders.PROGRAM_ID,),
        followed_programs=(jupiter_decoders.PROGRAM_ID,),
        log_decoders={jupiter_decoders.PROGRAM_ID: jupiter_decoders.LOG_DECODER},
        decode_text=jupiter_decoders.decode_text,
        data_client=JupiterClient,
        build=_jupiter,
    ),
    VenueEntry(
        VenueName.DRIFT,
        frozenset({Capability.NETWORK, Capability.MARKET_DATA, Capability.PERP_ORDERS}),
        program_ids=(drift_schemas.PROGRAM_ID,),
        data_client=DriftClient,
    ),
    VenueEntry(VenueName.JITO, frozenset({Capability.NETWORK, Capability.BUNDLE_RELAY}), relay=JitoClient),
)

REGISTRY: Mapping[VenueName, VenueEntry] = MappingProxyType({e.name: e for e in _ENTRIES})


def entry(name: str) -> VenueEntry:
    """The entry of the venue called `name`; ConfigError for a name no venue has."""
    try:
        return REGISTRY[VenueName(name)]
    except ValueError:
        raise ConfigError(f"unknown venue {name!r}; known: {', '.join(REGISTRY)}") from None


def jito_client(settings: Settings, *, client: httpx.AsyncClient | None = None) -> JitoClient:
    """The Jito relay client the settings describe (block engine, tip floor, shared request rate)."""
    return JitoClient(
        settings.jito_url,
        client=client,
        requests_per_s=settings.jito_requests_per_s,
        tip_floor_url=settings.jito_tip_floor_url,
    )


def build_venue(name: str, settings: Settings, context: VenueContext | None = None) -> Venue:
    """The execution venue of `name`, built from the settings and `context`."""
    found = entry(name)
    if found.build is None:
        raise ConfigError(f"venue {found.name} executes no orders ({', '.join(sorted(found.capabilities))})")
    return found.build(settings, context or VenueContext())


def execution_venue(settings: Settings, *, chain: LocalChain | None = None) -> Venue:
    """The venue the execution sink fills orders on, inside its Postgres transaction: the paper venue
    (settled on `chain` when given). No setting selects a live venue yet; live venues are driven by
    `venues.lifecycle.OrderLifecycle` outside the sink's transaction, so they are refused here."""
    venue = build_venue(VenueName.PAPER, settings, VenueContext(chain=chain))
    if venue.settlement is not Settlement.IN_TRANSACTION:
        raise ConfigError(f"venue {venue.name} cannot fill inside the execution sink's transaction")
    return venue


def live_venue_for(state: PoolState) -> VenueName:
    """The venue a live order on `state` goes to: a Pump.fun bonding curve still trading to the program
    itself (its own instructions, read from the curve just before signing, no aggregator API between);
    everything else, a migrated curve included, through Jupiter's route."""
    if is_bonding_curve(state.venue) and not state.complete:
        return VenueName.PUMPFUN
    return VenueName.JUPITER


def followed_programs() -> tuple[str, ...]:
    """The programs the chain collector subscribes to (one `logsSubscribe` each), venue by venue."""
    return tuple(program for e in _ENTRIES for program in e.followed_programs)


def log_decoders() -> dict[str, ProgramLogDecoder]:
    """Program id -> its log decoder, over every venue."""
    return {program: decoder for e in _ENTRIES for program, decoder in e.log_decoders.items()}


def account_decoder(owner: str) -> AccountDecoder | None:
    """The decoder for accounts owned by `owner`; None if no venue's program owns such accounts."""
    for e in _ENTRIES:
        if owner in e.account_decoders:
            return e.account_decoders[owner]
    return None


_LOG_DECODERS = MappingProxyType(log_decoders())


def decode_transaction_logs(logs: list[str], *, signature: str, slot: int, received_ms: int) -> DecodedLogs:
    """Every event of every venue's followed programs in one transaction's `logMessages`."""
    return walk_logs(logs, _LOG_DECODERS, signature=signature, slot=slot, received_ms=received_ms)


def decodable() -> tuple[VenueName, ...]:
    """The venues `solbot decode` can read a log line of."""
    return tuple(e.name for e in _ENTRIES if e.decode_text is not None)
