"""The Faust app and its topics: the wiring diagram of the pipeline.

raw.swaps --(features agent: windowed bars, snapshots)--> features --(model agent)--> signals
  --(risk agent: approve / resize / reject)--> orders | orders.rejected --(execution agent)--> fills
and fills flow back into the risk agent's state. Every hop has a dead-letter topic (dlq.*).

Nothing here runs at import: `build_app(settings)` makes the app of one worker from the settings it is
given, and `declare_topics(app, settings)` declares the catalogue's topics on it once. The settings'
processing guarantee must be settled by then ("auto" is resolved by the worker command, which probes the
broker for transactions).
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from core.settings import Settings
from streams import topics as catalogue
from streams.broker_auth import MECHANISM, BrokerAuth, broker_auth
from streams.compat.raw_schema import RawBytesSchema
from streams.membership import worker_client_id


def faust_credentials(auth: BrokerAuth) -> faust.SASLCredentials | None:
    """Faust's form of a broker sign-in (streams/broker_auth.py); None when the broker takes anyone."""
    if not auth:
        return None
    return faust.SASLCredentials(
        username=auth["sasl_plain_username"], password=auth["sasl_plain_password"], mechanism=MECHANISM
    )


def build_app(settings: Settings) -> faust.App:
    """One worker's Faust app: broker, tuning and web server from `settings`; no agent yet."""
    guarantee = "exactly_once" if settings.processing_guarantee == "exactly_once" else "at_least_once"
    # The same sign-in as every other client of this broker.
    credentials = faust_credentials(broker_auth(settings))
    return faust.App(
        settings.app_id,
        broker=settings.broker_url or "kafka://127.0.0.1:9092",
        store="memory://",
        processing_guarantee=guarantee,
        # Names the guarantee to the group coordinator: a worker that would differ refuses to start.
        broker_client_id=worker_client_id(guarantee),
        broker_credentials=credentials,  # SASL/SCRAM when the broker needs it (streams/broker_auth.py)
        # Tansu joins a group after session_timeout / 2: Faust's 60 s default means 30 s per rebalance.
        broker_session_timeout=settings.session_timeout_s,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_commit_interval=settings.commit_interval_s,
        # +39 % throughput when tables are written (STACK.md); 5 ms adds little latency.
        producer_linger=settings.producer_linger_ms / 1000.0,
        # A request carries one batch per partition: at Faust's 16 KB a one-partition dead-letter topic
        # caps a flood at ~25 letters per broker round trip (issue 9); linger, not size, bounds a quiet batch.
        producer_max_batch_size=262_144,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=1,
        table_cleanup_interval=10.0,
        web_enabled=True,
        # No `/table/<name>/<key>/` (it serves table data: positions, features) and no `/router/` (it
        # names every worker); solbot routes nothing across workers. Its own pages: agents/views.py.
        web_tables_enabled=False,
        web_router_enabled=False,
        web_bind=settings.worker_web_bind,
        web_port=settings.worker_web_port,
        datadir=str(settings.data_dir / "faust"),
        # Tables keep JSON changelogs (the default); topics are declared raw (`declare_topics`).
        autodiscover=False,
    )


@dataclass(frozen=True)
class PipelineTopics:
    """The catalogue's topics as Faust topics of one app: what the agents read and write."""

    raw_swaps_topic: faust.TopicT
    # raw.swaps, raw.quotes, raw.perps and raw.pools (co-partitioned by pair): the features agent's one stream
    features_inputs_topic: faust.TopicT
    raw_launches_topic: faust.TopicT
    features_topic: faust.TopicT
    signals_topic: faust.TopicT
    orders_topic: faust.TopicT
    rejected_topic: faust.TopicT
    fills_topic: faust.TopicT
    allocations_topic: faust.TopicT
    strategy_params_topic: faust.TopicT
    dlq_raw_topic: faust.TopicT
    dlq_features_topic: faust.TopicT
    dlq_signals_topic: faust.TopicT
    dlq_orders_topic: faust.TopicT
    # signals, fills, raw.mints, control, control.manual and strategy.params: the risk agent's one stream
    risk_inputs_topic: faust.TopicT


def declare_topics(app: faust.App, settings: Settings) -> PipelineTopics:
    """Declare every topic an agent uses, from the catalogue (`streams.topics`), once per app."""

    def topic(spec: catalogue.TopicSpec) -> faust.TopicT:
        # Agents receive raw bytes and decode them themselves, so bad messages become dead letters.
        return app.topic(
            spec.name,
            schema=RawBytesSchema(),
            partitions=catalogue.partitions_of(spec, settings.topic_partitions),
            internal=False,
        )

    return PipelineTopics(
        raw_swaps_topic=topic(catalogue.RAW_SWAPS),
        features_inputs_topic=app.topic(
            *(spec.name for spec in catalogue.FEATURE_INPUTS),
            schema=RawBytesSchema(),
        ),
        raw_launches_topic=topic(catalogue.RAW_LAUNCHES),
        features_topic=topic(catalogue.FEATURES),
        signals_topic=topic(catalogue.SIGNALS),
        orders_topic=topic(catalogue.ORDERS),
        rejected_topic=topic(catalogue.ORDERS_REJECTED),
        fills_topic=topic(catalogue.FILLS),
        allocations_topic=topic(catalogue.ALLOCATIONS),
        strategy_params_topic=topic(catalogue.STRATEGY_PARAMS),
        dlq_raw_topic=topic(catalogue.DLQ_RAW),
        dlq_features_topic=topic(catalogue.DLQ_FEATURES),
        dlq_signals_topic=topic(catalogue.DLQ_SIGNALS),
        dlq_orders_topic=topic(catalogue.DLQ_ORDERS),
        risk_inputs_topic=app.topic(
            *(spec.name for spec in catalogue.RISK_INPUTS),
            schema=RawBytesSchema(),
        ),
    )
