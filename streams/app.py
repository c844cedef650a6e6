"""The Faust app and its topics: the wiring diagram of the pipeline.

raw.swaps --(features agent: windowed bars, snapshots)--> features --(model agent)--> signals
  --(risk agent: approve / resize / reject)--> orders | orders.rejected --(execution agent)--> fills
and fills flow back into the risk agent's state. Every hop has a dead-letter topic (dlq.*).

Settings are read once, from the environment, when this module is imported: a worker is started
with its URLs in the environment (`solbot run` does this for the workers it spawns).
"""

from __future__ import annotations

import faust

from core.settings import get_settings
from streams import topics as catalogue

settings = get_settings()


def _guarantee() -> str:
    # "auto" is resolved by the CLI before import (it probes the broker for transactions).
    return "exactly_once" if settings.processing_guarantee == "exactly_once" else "at_least_once"


app = faust.App(
    settings.app_id,
    broker=settings.broker_url or "kafka://127.0.0.1:9092",
    store="memory://",
    processing_guarantee=_guarantee(),
    # Tansu joins a group after session_timeout / 2: Faust's 60 s default means 30 s per rebalance.
    broker_session_timeout=settings.session_timeout_s,
    broker_rebalance_timeout=settings.rebalance_timeout_s,
    broker_heartbeat_interval=settings.heartbeat_interval_s,
    broker_commit_interval=settings.commit_interval_s,
    # +39 % throughput when tables are written (STACK.md); 5 ms adds little latency.
    producer_linger=settings.producer_linger_ms / 1000.0,
    # A request carries one batch per partition: at Faust's 16 KB a one-partition dead-letter topic caps a
    # flood at ~25 letters per broker round trip (issue 9); linger, not size, still bounds a quiet batch.
    producer_max_batch_size=262_144,
    topic_partitions=settings.topic_partitions,
    topic_replication_factor=1,
    table_cleanup_interval=10.0,
    web_enabled=True,
    web_bind=settings.worker_web_bind,
    web_port=settings.worker_web_port,
    datadir=str(settings.data_dir / "faust"),
    # Tables keep JSON changelogs (the default); topics are declared raw below.
    autodiscover=False,
)


def _topic(spec: catalogue.TopicSpec) -> faust.TopicT:
    """Agents receive raw bytes and decode them themselves, so bad messages become dead letters."""
    return app.topic(
        spec.name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=catalogue.partitions_of(spec, settings.topic_partitions),
        internal=False,
    )


raw_swaps_topic = _topic(catalogue.RAW_SWAPS)
raw_launches_topic = _topic(catalogue.RAW_LAUNCHES)
features_topic = _topic(catalogue.FEATURES)
signals_topic = _topic(catalogue.SIGNALS)
orders_topic = _topic(catalogue.ORDERS)
rejected_topic = _topic(catalogue.ORDERS_REJECTED)
fills_topic = _topic(catalogue.FILLS)
dlq_raw_topic = _topic(catalogue.DLQ_RAW)
dlq_features_topic = _topic(catalogue.DLQ_FEATURES)
dlq_signals_topic = _topic(catalogue.DLQ_SIGNALS)
dlq_orders_topic = _topic(catalogue.DLQ_ORDERS)
allocations_topic = _topic(catalogue.ALLOCATIONS)
strategy_params_topic = _topic(catalogue.STRATEGY_PARAMS)
