"""The topic catalogue: every topic the bot reads or writes, with its partitioning, declared once.

Data flows one way: raw.* -> features -> signals -> orders (risk-approved) -> fills, with a
dead-letter topic beside each hop. Raw topics and features are keyed by pair (a pair's events stay
in order on one partition); signals, orders and fills are keyed by portfolio, because the risk
agent must see one portfolio's decisions in one order (it is the single writer of its state).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopicSpec:
    name: str
    keyed_by: str
    partitions: int | None = None  # None: the `topic_partitions` setting
    retention_ms: int | None = None


RAW_SWAPS = TopicSpec("raw.swaps", keyed_by="pair")
RAW_LAUNCHES = TopicSpec("raw.launches", keyed_by="mint")
FEATURES = TopicSpec("features", keyed_by="pair")
SIGNALS = TopicSpec("signals", keyed_by="portfolio", partitions=1)
ORDERS = TopicSpec("orders", keyed_by="portfolio", partitions=1)
ORDERS_REJECTED = TopicSpec("orders.rejected", keyed_by="portfolio", partitions=1)
FILLS = TopicSpec("fills", keyed_by="portfolio", partitions=1)

DLQ_RAW = TopicSpec("dlq.raw", keyed_by="source topic", partitions=1)
DLQ_FEATURES = TopicSpec("dlq.features", keyed_by="source topic", partitions=1)
DLQ_SIGNALS = TopicSpec("dlq.signals", keyed_by="source topic", partitions=1)
DLQ_ORDERS = TopicSpec("dlq.orders", keyed_by="source topic", partitions=1)

RAW_TOPICS = (RAW_SWAPS, RAW_LAUNCHES)
PIPELINE_TOPICS = (FEATURES, SIGNALS, ORDERS, ORDERS_REJECTED, FILLS)
DLQ_TOPICS = (DLQ_RAW, DLQ_FEATURES, DLQ_SIGNALS, DLQ_ORDERS)
ALL_TOPICS: tuple[TopicSpec, ...] = RAW_TOPICS + PIPELINE_TOPICS + DLQ_TOPICS


def partitions_of(spec: TopicSpec, default: int) -> int:
    return spec.partitions if spec.partitions is not None else default


# Control topics: written by the web API, read by the agents (appended; the pipeline above is unchanged).
CONTROL_MANUAL = TopicSpec("control.manual", keyed_by="portfolio", partitions=1)
STRATEGY_PARAMS = TopicSpec("strategy.params", keyed_by="strategy", partitions=1)
CONTROL_TOPICS = (CONTROL_MANUAL, STRATEGY_PARAMS)
ALL_TOPICS = ALL_TOPICS + CONTROL_TOPICS
