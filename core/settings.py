"""Typed settings: the one schema of every knob (name, type, default, bounds, description). core/config.py
layers the file, environment and flags over it; docs/configuration.md and solbot.example.toml are
generated from it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from core.auth_settings import WebAuthSettings
from core.backtest_settings import BacktestSettings
from core.errors import ConfigError
from core.live_settings import LiveSettings
from core.merge_settings import MergeSettings
from core.notify_settings import NotifySettings
from core.recovery_settings import RecoverySettings
from core.risk_settings import RiskLimitSettings
from core.sim_settings import SimSettings
from core.web_settings import WebServerSettings

__all__ = ["RiskLimitSettings", "Settings", "load_settings", "ws_url_from_rpc"]

DEFAULT_PAIRS = ("SOL/USDC", "JUP/USDC", "BONK/SOL")
_URL_SCHEMES = {
    "broker_url": ("kafka://", "aiokafka://"),
    "database_url": ("postgresql://", "postgres://"),
    "redis_url": ("redis://", "rediss://", "unix://"),
}


class Settings(
    BaseSettings,
    RiskLimitSettings,
    RecoverySettings,
    WebServerSettings,
    WebAuthSettings,
    NotifySettings,
    BacktestSettings,
    LiveSettings,
    MergeSettings,
    SimSettings,
):
    """All knobs of the bot. Units are in the names; invariants are checked here, at start-up."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    # External components: unset means "start the embedded one".
    broker_url: str | None = Field(None, description="Kafka-API broker, `kafka://host:port` (e.g. Redpanda)")
    # SASL/SCRAM-SHA-512 on every broker client (Faust, aiokafka, admin; streams/broker_auth.py), issue 19.
    broker_sasl_username: str | None = Field(None, description="broker SASL/SCRAM user, with the password")
    broker_sasl_password: SecretStr | None = Field(None, description="broker SASL/SCRAM password; secret")
    broker_sasl_credential_file: Path | None = Field(None, description="embedded Kafka's credential (0600)")
    database_url: str | None = Field(None, description="`postgresql://user@host:port/db`")
    redis_url: str | None = Field(None, description="`redis://host:port/0`")
    # Kept apart from REDIS_URL so the URL can live in a plain settings file and the password in a secret
    # one (compose: secrets.env); joined into the URL at start-up.
    redis_password: SecretStr | None = Field(None, description="Redis AUTH password (requirepass)")
    data_dir: Path = Field(Path(".solbot"), description="state of embedded services, worker data, logs")
    # auto: Apache Kafka when a JDK 17+ and its resolved jars (`make kafka`) are here, else Tansu.
    embedded_broker: Literal["auto", "kafka", "tansu"] = Field(
        "auto",
        description=(
            "broker started when `BROKER_URL` is unset: `auto` = Apache Kafka when a JDK 17+ and its "
            "resolved jars are here, else Tansu; `kafka` (fail if it cannot) or `tansu` force one"
        ),
    )
    embedded_broker_sasl: bool = Field(
        True, description="embedded Kafka: SASL/SCRAM-SHA-512 only, a credential generated per data dir"
    )

    # Faust / broker tuning (see README "Shape for speed" for why).
    app_id: str = Field("solbot", description="Faust app id (consumer group, changelog topic prefix)")
    topic_partitions: int = Field(
        4, ge=1, le=256, description="partitions of the pair-keyed topics and their tables"
    )
    processing_guarantee: Literal["auto", "at_least_once", "exactly_once"] = Field(
        "auto",
        description=(
            "`auto` = `exactly_once` on a broker with transactions (Kafka, Redpanda), `at_least_once` on one "
            "without (Tansu); a probe without an answer refuses to start ([docs/broker.md](docs/broker.md))"
        ),
    )
    # Which Kafka-API broker the workers talk to: Tansu gets its workarounds (streams/compat/tansu.py). auto:
    # a broker that grants no transactional producer is taken for Tansu (the workarounds are harmless on
    # another one, merely unneeded).
    broker_kind: Literal["auto", "kafka", "tansu"] = Field(
        "auto",
        description=(
            "`tansu` turns on the Tansu workarounds (fetch wait, exact recovery end offsets); `auto` = "
            "`tansu` when the broker grants no transactions, else `kafka`"
        ),
    )
    fetch_max_wait_ms: int = Field(15, ge=5, le=2000, description="consumer fetch wait (5..2000); see below")
    producer_linger_ms: int = Field(5, ge=0, le=1000, description="producer linger")
    session_timeout_s: float = Field(10.0, ge=3.0, description="consumer group session timeout")
    rebalance_timeout_s: float = Field(10.0, ge=3.0, description="consumer group rebalance timeout")
    heartbeat_interval_s: float = Field(1.0, gt=0.0, description="consumer heartbeat")
    # Under exactly_once each hop's record is visible at its transaction's commit: the interval bounds hop
    # latency (measured: p50 ~ interval / 2, p99 ~ interval; docs/broker.md "Commit interval").
    commit_interval_s: float = Field(
        0.1,
        gt=0.0,
        le=30.0,
        description="Faust offset commit interval; under exactly_once, each hop's latency bound",
    )
    batch_max_events: int = Field(2000, ge=1, description="raw events per features batch")
    batch_within_s: float = Field(0.01, gt=0.0, le=5.0, description="how long a batch waits to fill")
    batch_max_within_s: float = Field(
        0.1,
        gt=0.0,
        le=5.0,
        description=(
            "the longest the features and model agents' batches wait to fill when each batch's work takes "
            "long (a busy CPU): twice their recent work per batch, from `batch_within_s` up to this"
        ),
    )
    max_event_skew_s: float = Field(
        5.0,
        ge=0.0,
        le=3600.0,
        description=(
            "a raw event whose time is this far after its receipt is a dead letter (a clock from the future "
            "would silence its pair)"
        ),
    )
    worker_web_port: int = Field(
        6066,
        ge=0,
        le=65535,
        description=(
            "first Faust web port a worker tries (taken: the next one up; `0`: any; `solbot run` picks free "
            "ports)"
        ),
    )
    worker_web_bind: str = Field(
        "127.0.0.1",
        description="address the worker web (status, metrics) listens on; `0.0.0.0` in containers",
    )

    # Market and decision cadence (event time).
    pairs: Annotated[tuple[str, ...], NoDecode] = Field(
        DEFAULT_PAIRS, description="pairs the simulator trades (comma-separated)"
    )  # env: comma-separated
    snapshot_interval_ms: int = Field(
        500, ge=50, description="event-time cadence of feature snapshots per pair"
    )
    # Event time between the features agent's progress records on a partition (the model's merge waits on it).
    features_progress_ms: int = Field(
        20,
        ge=1,
        le=10_000,
        description="event time between the features agent's progress records on a `features` partition",
    )
    label_horizon_ms: int = Field(10_000, ge=100, description="horizon of the forward return a model learns")
    portfolio: str = Field("main", description="portfolio id (the key of signals, orders and fills)")
    model_warmup_labels: int = Field(
        20, ge=1, description="labels a model learns before its predictions may trade"
    )
    strategy_cost_bps: float = Field(
        60.0, ge=0.0, le=5000.0, description="round-trip cost a predicted move must beat"
    )
    model_kind: Literal["linear", "tree"] = Field(
        "linear",
        description=(
            "`linear` (logistic + linear regression) or `tree` (Hoeffding adaptive trees, ~10x the cost)"
        ),
    )
    model_drift_action: Literal["alert", "reset", "fallback"] = Field(
        "reset",
        description=(
            "on ADWIN drift in a model's error: `alert` only, `reset` the model, or `fallback` to the "
            "baseline"
        ),
    )
    allocation_cycle_ms: int = Field(
        300_000,
        ge=1_000,
        description="event time between the bandit's capital re-allocations across strategies",
    )
    allocation_floor: float = Field(
        0.05,
        ge=0.0,
        le=0.5,
        description="smallest capital weight any strategy keeps, so the bandit keeps learning about it",
    )
    model_checkpoint_interval_s: float = Field(
        60.0,
        gt=0.0,
        description="how often each features partition's models are saved to Postgres (also on revocation)",
    )
    # HMAC key of the checkpoints (models/checkpoint_seal.py); unset: DATA_DIR/model-checkpoint.key.
    model_checkpoint_key: SecretStr | None = Field(
        None, description="HMAC key sealing model checkpoints, shared by every worker, >= 32 chars"
    )
    model_checkpoint_key_file: Path | None = Field(
        None,
        description="file holding that key when `MODEL_CHECKPOINT_KEY` is unset (`solbot run`: in DATA_DIR)",
    )
    # `solbot run`'s warnings: one line when a figure passes its threshold, one when it is back under half.
    run_warn_latency_ms: float = Field(
        2_000.0,
        gt=0.0,
        description="`solbot run` warns when the p99 tick-to-order latency of the last 5 s passes this (ms)",
    )
    run_warn_lag: int = Field(
        5_000, ge=1, description="`solbot run` warns when the workers' consumer lag passes this (records)"
    )

    # Risk limits: the fields of `RiskLimitSettings` above (inherited, same names and environment keys).
    # How long (wall time) the next signal waits for the fills of the orders before it (see agents/risk.py).
    risk_fill_wait_ms: int = Field(
        5_000,
        ge=0,
        le=600_000,
        description=(
            "how long the next signal waits for the fills of the orders decided before it; then risk decides"
            " without them"
        ),
    )

    # Paper wallet (its opening balances are risk limits: `paper_start_usdc`, `paper_start_sol`).
    paper_chain: bool = Field(
        True,
        description=(
            "settle every paper fill as a signed transaction on an in-process LiteSVM chain, rebuilt from "
            "the database's balances when a worker starts or takes over `orders`; `solbot check balances` "
            "compares the two"
        ),
    )

    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="log level")

    # Web API (`solbot web`); its transport settings are `WebServerSettings`' fields and its identity
    # settings `WebAuthSettings`' (both inherited).
    # `environment` comes before `jwt_secret`: the secret's validator reads it.
    environment: str = Field(
        "development", description="outside `development`, `JWT_SECRET` must be set or start-up stops"
    )
    web_port: int = Field(8000, ge=0, le=65535, description="port of the web API (`solbot web`)")
    owner_wallet: str | None = Field(
        None,
        description=(
            "base58 wallet made the first owner when no owner exists yet (`solbot web` start, "
            "`solbot roles grant`); roles live in the database"
        ),
    )
    jwt_secret: SecretStr | None = Field(
        None,
        validate_default=True,
        description="HS256 key of access tokens (≥ 32 chars); in development a random per-process key",
    )

    # Live collectors (`solbot collect`); each is off until enabled.
    solana_rpc_url: str = Field(
        "http://127.0.0.1:8899",
        description="Solana JSON-RPC endpoint (the chain collector's WebSocket URL is derived from it)",
    )
    solana_ws_url: str | None = Field(
        None,
        validate_default=True,
        description=(
            "Solana PubSub WebSocket; default: http→ws, https→wss, port 8899→8900, other ports unchanged"
        ),
    )
    solana_ws_stall_s: float = Field(
        30.0,
        gt=0.0,
        description=(
            "seconds without any notification after which the WebSocket counts a stall and reconnects"
        ),
    )
    market_source: Literal["auto", "sim", "chain"] = Field(
        "auto",
        description=(
            "where `solbot run` gets its market: `sim` the simulated market; `chain` the live collectors "
            "on `SOLANA_RPC_URL` / `SOLANA_WS_URL` (logs, followed accounts, and Jupiter quotes when "
            "`COLLECT_JUPITER`), e.g. a `solbot sandbox --traders N` or mainnet (docs/live-data.md); "
            "`auto` is `chain` for `solbot run --live` and `sim` otherwise (`--live` refuses `sim` "
            "except with `--dry-run`: real funds are never traded on simulated prices)"
        ),
    )
    collect_chain: bool = Field(
        False, description="`solbot collect` runs the chain collector (logs → `raw.swaps` / `raw.launches`)"
    )
    collect_raydium_pools: bool = Field(
        True,
        description=(
            "the chain collector resolves each Raydium v4 swap's pool over `SOLANA_RPC_URL` "
            "(`getTransaction`, then `getAccountInfo` once per pool); off: such swaps are counted "
            "`unattributed`"
        ),
    )
    # env: comma-separated base58 pool / bonding-curve accounts to accountSubscribe
    collect_accounts: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description=(
            "comma-separated pool / bonding-curve accounts the chain collector follows with "
            "`accountSubscribe` (→ `raw.pools`)"
        ),
    )
    collect_new_curves: int = Field(
        200,
        ge=0,
        description=(
            "the chain collector also follows the bonding curve of each new Pump.fun mint it sees, up to "
            "this many (0: none)"
        ),
    )
    collect_jupiter: bool = Field(
        False, description="`solbot collect` polls Jupiter prices and quotes (→ `raw.quotes`)"
    )
    jupiter_api_url: str = Field(
        "https://api.jup.ag", description="Jupiter API base (`/price/v3`, `/swap/v1/quote`)"
    )
    jupiter_api_key: SecretStr | None = Field(None, description="sent as `x-api-key`; secret, never logged")
    jupiter_poll_s: float = Field(5.0, gt=0.0, description="seconds between two Jupiter polls of all pairs")
    collect_drift: bool = Field(
        False, description="`solbot collect` polls the Drift order book and funding (→ `raw.perps`)"
    )
    drift_dlob_url: str = Field("https://dlob.drift.trade", description="Drift DLOB server (`/l2`)")
    drift_data_url: str = Field(
        "https://data.api.drift.trade", description="Drift data API (`/fundingRates`)"
    )
    drift_markets: Annotated[tuple[str, ...], NoDecode] = Field(
        ("SOL-PERP",), description="perp markets to poll (comma-separated)"
    )  # env: comma-separated
    drift_poll_s: float = Field(2.0, gt=0.0, description="seconds between two Drift polls")

    # Live fees (venues/fee_policy.py): the priority fee from getRecentPrioritizationFees and the Jito tip
    # from its tip floor, at the urgency's percentile (low 25th, normal 50th, high 75th, urgent 95th; a
    # stop-loss pays at least high), times a multiplier that follows the landing rate, within the caps.
    fee_urgency: Literal["low", "normal", "high", "urgent"] = Field(
        "normal",
        description=(
            "percentile of the fee market a live order pays: `low` 25th, `normal` 50th, `high` 75th, "
            "`urgent` 95th (of `getRecentPrioritizationFees` and of Jito's tip floor); a stop-loss or "
            "breaker exit pays at least `high`"
        ),
    )
    priority_fee_default_micro_lamports: int = Field(
        10_000,
        ge=0,
        le=10**9,
        description="unit price (micro-lamports/CU) when the node reports no recent fees",
    )
    priority_fee_min_micro_lamports: int = Field(
        1_000,
        ge=0,
        le=10**9,
        description="floor under the market's percentile, so the landing multiplier has something to raise",
    )
    priority_fee_max_micro_lamports: int = Field(
        1_000_000, ge=0, le=10**9, description="cap on the unit price, after the landing multiplier"
    )
    priority_fee_max_lamports: int = Field(
        100_000,
        ge=0,
        le=10**9,
        description="cap on one transaction's whole priority fee (unit price x unit limit)",
    )
    jito_tip_default_lamports: int = Field(
        10_000,
        ge=1_000,
        le=10**9,
        description="Jito tip when the tip floor cannot be read (at least Jito's 1,000)",
    )
    jito_tip_max_lamports: int = Field(
        1_000_000, ge=1_000, le=10**9, description="cap on one bundle's tip, after the landing multiplier"
    )
    fee_landing_target: float = Field(
        0.9,
        gt=0.0,
        le=1.0,
        description=(
            "landing rate the fee policy aims at: below it the multiplier on fee and tip grows, at or above "
            "it decays towards 1"
        ),
    )
    fee_landing_window: int = Field(
        20, ge=1, le=10_000, description="transactions the landing rate is measured over"
    )
    fee_step_up: float = Field(
        0.25,
        ge=0.0,
        le=10.0,
        description="growth of the multiplier per outcome while the landing rate is under target (x1.25)",
    )
    fee_decay: float = Field(
        0.1,
        ge=0.0,
        lt=1.0,
        description="decay of the multiplier per outcome while it is at or over target (x0.9, never below 1)",
    )
    fee_max_multiplier: float = Field(4.0, ge=1.0, le=100.0, description="ceiling of the landing multiplier")
    # Jito block engine (venues/jito/): one token bucket per client keeps every order's requests under it.
    jito_url: str = Field(
        "https://mainnet.block-engine.jito.wtf/api/v1/bundles",
        description="Jito block engine (JSON-RPC: `sendBundle`, bundle statuses)",
    )
    jito_tip_floor_url: str = Field(
        "https://bundles.jito.wtf/api/v1/bundles/tip_floor", description="Jito's landed-tip percentiles"
    )
    jito_requests_per_s: float = Field(
        1.0,
        gt=0.0,
        le=1000.0,
        description=(
            "requests per second to the block engine, shared by every order (the documented default limit "
            "per IP and region); a 429 pauses it"
        ),
    )
    jito_priority_fee: bool = Field(
        False, description="also pay a priority fee in Jito bundles (for `sendBundle` only the tip counts)"
    )

    # Pump.fun (venues/pumpfun/): v3 trades name 17 accounts instead of 18-27 and leave the fees on the curve.
    pumpfun_trade_v3: bool = Field(
        False,
        description=(
            "trade Pump.fun curves with `buy_v3` / `sell_v3` (17 accounts; cashback coins keep the older "
            "instructions); fee recipients are read from the program's `Global` account either way"
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _join_redis_password(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        password, url = data.get("redis_password"), data.get("redis_url")
        if isinstance(password, SecretStr):
            password = password.get_secret_value()
        if isinstance(password, str) and password and isinstance(url, str) and url:
            data = {**data, "redis_url": with_redis_password(url, password)}
        return data

    @model_validator(mode="after")
    def _check_fee_bounds(self) -> Settings:
        if not self.priority_fee_min_micro_lamports <= self.priority_fee_max_micro_lamports:
            raise ValueError("PRIORITY_FEE_MIN_MICRO_LAMPORTS must be <= PRIORITY_FEE_MAX_MICRO_LAMPORTS")
        if not self.jito_tip_default_lamports <= self.jito_tip_max_lamports:
            raise ValueError("JITO_TIP_DEFAULT_LAMPORTS must be <= JITO_TIP_MAX_LAMPORTS")
        if not self.batch_within_s <= self.batch_max_within_s:
            raise ValueError("BATCH_WITHIN_S must be <= BATCH_MAX_WITHIN_S")
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

    @field_validator("broker_url", "database_url", "redis_url")
    @classmethod
    def _check_url_scheme(cls, value: str | None, info: ValidationInfo) -> str | None:
        schemes = _URL_SCHEMES[str(info.field_name)]
        if value is not None and not value.startswith(schemes):
            raise ValueError(f"must start with {' or '.join(schemes)}")
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


_SECRET_FIELDS = frozenset(
    {
        "redis_password",
        "redis_url",
        "jwt_secret",
        "jupiter_api_key",
        "metrics_token",
        "model_checkpoint_key",
        "notify_webhook_url",
        "notify_telegram_token",
        "broker_sasl_password",
    }
)


def load_settings(**overrides: object) -> Settings:
    """Read settings once; a bad value becomes one ConfigError line naming the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]).upper() or "settings"
        # Never echo a secret's value into a log line or a terminal.
        # A model-level error's input is every setting, secrets included: name none of them.
        if not first["loc"]:
            raise ConfigError(f"bad settings: {first['msg']}") from None
        shown = "<hidden>" if first["loc"][0] in _SECRET_FIELDS else repr(first.get("input"))
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


def with_redis_password(url: str, password: str) -> str:
    """`url` with `password` as its AUTH password (one already in the URL stays)."""
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is not None or not parts.hostname:
        return url
    user = quote(parts.username or "", safe="")
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))
