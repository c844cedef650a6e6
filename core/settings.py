"""Typed settings, read once from the environment (and `.env`); every field is documented in README."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from core.errors import ConfigError
from core.faults import check_fault_rates, parse_fault_rates

DEFAULT_PAIRS = ("SOL/USDC", "JUP/USDC", "BONK/SOL")


class RiskLimitSettings(BaseModel):
    """The risk limits, each declared once: `Settings` inherits them (environment keys = field names) and
    `risk.limits.RiskLimits` is built from them; units are in the names (percentages of equity, basis
    points of price). A new limit is one field here (and its README row) and one check in `risk.checks`.

    The bounds are the limits' invariants: the risk engine refuses any value outside them, from the
    environment, a test or an operator's per-strategy override alike.
    """

    model_config = ConfigDict(frozen=True)

    max_position_pct: float = Field(5.0, gt=0.0, le=100.0)
    max_pair_exposure_pct: float = Field(10.0, gt=0.0, le=100.0)
    max_total_exposure_pct: float = Field(50.0, gt=0.0, le=100.0)
    stop_loss_pct: float = Field(2.0, gt=0.0, lt=100.0)
    max_drawdown_pct: float = Field(10.0, gt=0.0, le=100.0)
    max_slippage_bps: int = Field(100, ge=1, le=5000)
    min_confidence: float = Field(0.55, ge=0.5, le=1.0)
    risk_per_trade_pct: float = Field(1.0, gt=0.0, le=100.0)
    kelly_fraction: float = Field(0.5, gt=0.0, le=1.0)
    max_concurrent_positions: int = Field(5, ge=1)
    max_orders_per_minute: int = Field(20, ge=1)
    min_pool_liquidity_usdc: float = Field(50_000.0, ge=0.0)
    max_launch_notional_usdc: float = Field(100.0, ge=0.0)
    mint_deny_list: Annotated[tuple[str, ...], NoDecode] = ()  # env: comma-separated mints
    take_profit_pct: float = Field(5.0, gt=0.0, le=1000.0)
    trailing_stop_pct: float = Field(3.0, gt=0.0, lt=100.0)
    max_hold_s: float = Field(3600.0, gt=0.0)
    max_daily_drawdown_pct: float = Field(5.0, gt=0.0, le=100.0)
    max_venue_error_rate: float = Field(0.5, ge=0.0, le=1.0)
    venue_error_window: int = Field(20, ge=1)
    stale_price_s: float = Field(30.0, gt=0.0)
    flatten_on_halt: bool = False
    rebalance_tolerance_pct: float = Field(0.5, gt=0.0, lt=100.0)  # of equity: a pair this close is done
    rebalance_deadline_s: float = Field(30.0, gt=0.0)  # of event time: then the rebalance ends, incomplete
    min_order_usdc: float = Field(10.0, gt=0.0)
    # Values SOL (and SOL-quoted pairs) until the first SOL/USDC price arrives on a signal.
    fallback_sol_usdc: float = Field(150.0, gt=0.0)
    venue_error_min_fills: int = Field(5, ge=1)
    # Orders fill on the paper venue (no signature fee, priority fee or tip), so routing compares pools on
    # output alone; False prices each leg's transaction with venues.fees' model (live venues).
    paper_venue: bool = True
    split_chunks: int = Field(20, ge=2)  # a split buy's input is cut into this many equal parts
    # The paper wallet's opening balances.
    paper_start_usdc: float = Field(10_000.0, ge=0.0)
    paper_start_sol: float = Field(50.0, ge=0.0)

    @field_validator("mint_deny_list", mode="before")
    @classmethod
    def _split_mints(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(m.strip() for m in value.split(",") if m.strip())
        return value


class Settings(BaseSettings, RiskLimitSettings):
    """All knobs of the bot. Units are in the names; invariants are checked here, at start-up."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    # External components: unset means "start the embedded one".
    broker_url: str | None = Field(None, description="Kafka-API broker, e.g. kafka://host:9092")
    database_url: str | None = Field(None, description="PostgreSQL URL (asyncpg form)")
    redis_url: str | None = Field(None, description="Redis URL")
    data_dir: Path = Field(Path(".solbot"), description="State of embedded services and workers")
    # auto: Apache Kafka when a JDK 17+ and its resolved jars (`make kafka`) are here, else Tansu.
    embedded_broker: Literal["auto", "kafka", "tansu"] = "auto"

    # Faust / broker tuning (see README "Shape for speed" for why).
    app_id: str = "solbot"
    topic_partitions: int = Field(4, ge=1, le=256)
    processing_guarantee: Literal["auto", "at_least_once", "exactly_once"] = "auto"
    # Which Kafka-API broker the workers talk to: Tansu gets its workarounds (streams/compat/tansu.py). auto:
    # a broker that grants no transactional producer is taken for Tansu (the workarounds are harmless on
    # another one, merely unneeded).
    broker_kind: Literal["auto", "kafka", "tansu"] = "auto"
    fetch_max_wait_ms: int = Field(15, ge=5, le=2000)
    producer_linger_ms: int = Field(5, ge=0, le=1000)
    session_timeout_s: float = Field(10.0, ge=3.0)
    rebalance_timeout_s: float = Field(10.0, ge=3.0)
    heartbeat_interval_s: float = Field(1.0, gt=0.0)
    commit_interval_s: float = Field(0.5, gt=0.0, le=30.0)
    batch_max_events: int = Field(2000, ge=1)
    batch_within_s: float = Field(0.01, gt=0.0, le=5.0)
    worker_web_port: int = Field(6066, ge=0, le=65535)
    worker_web_bind: str = Field("127.0.0.1", description="0.0.0.0 in containers, so Prometheus can scrape")

    # Market and decision cadence (event time).
    pairs: Annotated[tuple[str, ...], NoDecode] = DEFAULT_PAIRS  # env: comma-separated
    snapshot_interval_ms: int = Field(500, ge=50)
    # Event time between the features agent's progress records on a partition (the model's merge waits on it).
    features_progress_ms: int = Field(20, ge=1, le=10_000)
    label_horizon_ms: int = Field(10_000, ge=100)
    portfolio: str = "main"
    model_warmup_labels: int = Field(20, ge=1)
    strategy_cost_bps: float = Field(60.0, ge=0.0, le=5000.0)
    model_kind: Literal["linear", "tree"] = "linear"
    model_drift_action: Literal["alert", "reset", "fallback"] = "reset"
    allocation_cycle_ms: int = Field(300_000, ge=1_000)
    allocation_floor: float = Field(0.05, ge=0.0, le=0.5)
    model_checkpoint_interval_s: float = Field(60.0, gt=0.0)
    # A features partition silent this long (wall time) stops holding the event-time merge back; the longer
    # wait applies to partitions whose source sends progress records (streams/event_order.py).
    model_idle_partition_ms: int = Field(500, ge=10, le=60_000)
    model_progress_idle_ms: int = Field(10_000, ge=10, le=600_000)

    # Simulator.
    sim_seed: int = 1
    sim_rate_eps: float = Field(300.0, gt=0.0)
    sim_random_walk: bool = False

    # Risk limits: the fields of `RiskLimitSettings` above (inherited, same names and environment keys).
    # How long (wall time) the next signal waits for the fills of the orders before it (see agents/risk.py).
    risk_fill_wait_ms: int = Field(5_000, ge=0, le=600_000)
    # Reconciliation of the risk state with the database (risk/reconcile.py): at start, then every interval;
    # a difference is repaired once it lasted the grace (an executed order's fill applied) or the timeout
    # (an order the sink never recorded: its reservation released).
    reconcile_interval_s: float = Field(60.0, ge=1.0, le=3600.0)
    reconcile_grace_s: float = Field(30.0, ge=0.0, le=3600.0)
    reconcile_order_timeout_s: float = Field(300.0, ge=1.0, le=86_400.0)

    # Paper wallet (its opening balances are risk limits: `paper_start_usdc`, `paper_start_sol`).
    paper_chain: bool = Field(True, description="settle every paper fill on an in-process LiteSVM chain")

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Off by default: `point:rate,...` raises an exception at those side-effect boundaries (core/faults.py).
    fault_inject: Annotated[dict[str, float], NoDecode] = Field(default_factory=dict)
    fault_inject_seed: int | None = None

    # Web API (`solbot web`). `environment` comes before `jwt_secret`: the secret's validator reads it.
    environment: str = Field("development", description="development | staging | production | ...")
    web_port: int = Field(8000, ge=0, le=65535)
    web_domain: str = Field("localhost", min_length=1, description="Domain named in sign-in messages")
    owner_wallet: str | None = Field(None, description="Base58 wallet that gets every permission")
    jwt_secret: SecretStr | None = Field(None, validate_default=True, description="HS256 key of tokens")

    # Live collectors (`solbot collect`); each is off until enabled.
    solana_rpc_url: str = Field("http://127.0.0.1:8899", description="Solana JSON-RPC HTTP endpoint")
    solana_ws_url: str | None = Field(None, validate_default=True, description="default: from the RPC URL")
    solana_ws_stall_s: float = Field(30.0, gt=0.0, description="no notification this long = a stall")
    collect_chain: bool = False
    collect_raydium_pools: bool = Field(True, description="resolve Raydium v4 swaps' pools over the RPC")
    # env: comma-separated base58 pool / bonding-curve accounts to accountSubscribe
    collect_accounts: Annotated[tuple[str, ...], NoDecode] = ()
    collect_new_curves: int = Field(200, ge=0, description="follow the curves of up to N new Pump.fun mints")
    collect_jupiter: bool = False
    jupiter_api_url: str = "https://api.jup.ag"
    jupiter_api_key: SecretStr | None = Field(None, description="sent as x-api-key; never logged")
    jupiter_poll_s: float = Field(5.0, gt=0.0)
    collect_drift: bool = False
    drift_dlob_url: str = "https://dlob.drift.trade"
    drift_data_url: str = "https://data.api.drift.trade"
    drift_markets: Annotated[tuple[str, ...], NoDecode] = ("SOL-PERP",)  # env: comma-separated
    drift_poll_s: float = Field(2.0, gt=0.0)

    # Live fees (venues/fee_policy.py): the priority fee from getRecentPrioritizationFees and the Jito tip
    # from its tip floor, at the urgency's percentile (low 25th, normal 50th, high 75th, urgent 95th; a
    # stop-loss pays at least high), times a multiplier that follows the landing rate, within the caps.
    fee_urgency: Literal["low", "normal", "high", "urgent"] = "normal"
    priority_fee_default_micro_lamports: int = Field(10_000, ge=0, le=10**9)
    priority_fee_min_micro_lamports: int = Field(1_000, ge=0, le=10**9)
    priority_fee_max_micro_lamports: int = Field(1_000_000, ge=0, le=10**9)
    priority_fee_max_lamports: int = Field(100_000, ge=0, le=10**9)
    jito_tip_default_lamports: int = Field(10_000, ge=1_000, le=10**9)
    jito_tip_max_lamports: int = Field(1_000_000, ge=1_000, le=10**9)
    fee_landing_target: float = Field(0.9, gt=0.0, le=1.0)
    fee_landing_window: int = Field(20, ge=1, le=10_000)
    fee_step_up: float = Field(0.25, ge=0.0, le=10.0)
    fee_decay: float = Field(0.1, ge=0.0, lt=1.0)
    fee_max_multiplier: float = Field(4.0, ge=1.0, le=100.0)
    # Jito block engine (venues/jito/): one token bucket per client keeps every order's requests under it.
    jito_url: str = "https://mainnet.block-engine.jito.wtf/api/v1/bundles"
    jito_tip_floor_url: str = "https://bundles.jito.wtf/api/v1/bundles/tip_floor"
    jito_requests_per_s: float = Field(1.0, gt=0.0, le=1000.0)
    jito_priority_fee: bool = Field(
        False, description="also pay a priority fee in bundles (only the tip counts)"
    )

    @model_validator(mode="after")
    def _check_fee_bounds(self) -> Settings:
        if not self.priority_fee_min_micro_lamports <= self.priority_fee_max_micro_lamports:
            raise ValueError("PRIORITY_FEE_MIN_MICRO_LAMPORTS must be <= PRIORITY_FEE_MAX_MICRO_LAMPORTS")
        if not self.jito_tip_default_lamports <= self.jito_tip_max_lamports:
            raise ValueError("JITO_TIP_DEFAULT_LAMPORTS must be <= JITO_TIP_MAX_LAMPORTS")
        return self

    @field_validator("pairs", mode="before")
    @classmethod
    def _split_pairs(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        return value

    @field_validator("pairs")
    @classmethod
    def _check_pairs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pair in value:
            base, _, quote = pair.partition("/")
            if not base or not quote:
                raise ValueError(f"pair {pair!r} is not BASE/QUOTE")
        return value

    @field_validator("drift_markets", "collect_accounts", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(m.strip() for m in value.split(",") if m.strip())
        return value

    @field_validator("fault_inject", mode="before")
    @classmethod
    def _parse_faults(cls, value: object) -> object:
        return parse_fault_rates(value) if isinstance(value, str) else value

    @field_validator("fault_inject")
    @classmethod
    def _check_faults(cls, value: dict[str, float]) -> dict[str, float]:
        return check_fault_rates(value)

    @field_validator("collect_accounts")
    @classmethod
    def _check_accounts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        base58 = set("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
        for account in value:
            if not 32 <= len(account) <= 44 or not set(account) <= base58:
                raise ValueError(f"{account!r} is not a base58 account address")
        return value

    @field_validator("solana_ws_url")
    @classmethod
    def _derive_ws_url(cls, value: str | None, info: ValidationInfo) -> str:
        # The validator runs for the default too (validate_default), so the field is never None.
        if value:
            if not value.startswith(("ws://", "wss://")):
                raise ValueError("must start with ws:// or wss://")
            return value
        return ws_url_from_rpc(str(info.data.get("solana_rpc_url", "http://127.0.0.1:8899")))

    @field_validator("broker_url")
    @classmethod
    def _check_broker(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("kafka://", "aiokafka://")):
            raise ValueError("must start with kafka://")
        return value

    @field_validator("owner_wallet")
    @classmethod
    def _check_owner_wallet(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        from solders.pubkey import Pubkey

        try:
            Pubkey.from_string(value)
        except ValueError:
            raise ValueError("not a base58 Solana public key") from None
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _require_secret_outside_development(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        # Outside development a missing secret would mean tokens signed with a throw-away key: refuse.
        if value is not None and value.get_secret_value() == "":
            value = None
        environment = info.data.get("environment", "development")
        if value is None and environment != "development":
            raise ValueError(f"must be set when ENVIRONMENT is {environment!r}")
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return value


_SECRET_FIELDS = frozenset({"jwt_secret", "jupiter_api_key"})


def load_settings(**overrides: object) -> Settings:
    """Read settings once; a bad value becomes one ConfigError line naming the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]).upper() or "settings"
        # Never echo a secret's value into a log line or a terminal.
        shown = "<hidden>" if first["loc"] and first["loc"][0] in _SECRET_FIELDS else repr(first.get("input"))
        raise ConfigError(f"bad setting {name}: {first['msg']} (got {shown})") from None
    except SettingsError as exc:
        raise ConfigError(f"bad setting: {exc}") from None


def ws_url_from_rpc(rpc_url: str) -> str:
    """http(s) -> ws(s); a validator runs its PubSub on the RPC port + 1 (8899 -> 8900), providers on the
    same host and port, so only the well-known local port is bumped."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(rpc_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    netloc = parts.netloc
    if parts.port == 8899:
        netloc = netloc.rsplit(":", 1)[0] + ":8900"
    return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
