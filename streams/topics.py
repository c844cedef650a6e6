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
# Market data beside the swaps, read by the features agent with them: keyed by pair and partitioned as
# raw.swaps, so a pair's quotes and perp book (keyed by the spot pair it prices) meet its swaps.
RAW_QUOTES = TopicSpec("raw.quotes", keyed_by="pair")
RAW_PERPS = TopicSpec("raw.perps", keyed_by="pair")
# Pool and bonding-curve accounts followed by the chain collector (accountSubscribe), as PoolState: keyed
# by the pair the pool's swaps name and partitioned as raw.swaps, so the features agent that holds the
# pair updates its pool beside its swaps (the pool's address until a swap named its pair).
RAW_POOLS = TopicSpec("raw.pools", keyed_by="pair")
# Read by the single risk agent together with signals and fills, so one partition each: it owns them all.
RAW_MINTS = TopicSpec("raw.mints", keyed_by="mint", partitions=1)
CONTROL = TopicSpec("control", keyed_by="portfolio", partitions=1)
# Written by the web API: manual close/cancel requests and strategy parameters for the agents.
CONTROL_MANUAL = TopicSpec("control.manual", keyed_by="portfolio", partitions=1)
STRATEGY_PARAMS = TopicSpec("strategy.params", keyed_by="strategy", partitions=1)

FEATURES = TopicSpec("features", keyed_by="pair")
SIGNALS = TopicSpec("signals", keyed_by="portfolio", partitions=1)
ORDERS = TopicSpec("orders", keyed_by="portfolio", partitions=1)
ORDERS_REJECTED = TopicSpec("orders.rejected", keyed_by="portfolio", partitions=1)
FILLS = TopicSpec("fills", keyed_by="portfolio", partitions=1)
ALLOCATIONS = TopicSpec("allocations", keyed_by="portfolio", partitions=1)  # capital per strategy, per cycle

DLQ_RAW = TopicSpec("dlq.raw", keyed_by="source topic", partitions=1)
DLQ_FEATURES = TopicSpec("dlq.features", keyed_by="source topic", partitions=1)
DLQ_SIGNALS = TopicSpec("dlq.signals", keyed_by="source topic", partitions=1)
DLQ_ORDERS = TopicSpec("dlq.orders", keyed_by="source topic", partitions=1)

# One record, written once into a broker by the first run against it: which broker (and which of its
# lives) the database's offsets belong to (streams/identity.py). Kept for ever; not in ALL_TOPICS, it is
# made with its own retention by the identity check.
BROKER_EPOCH = TopicSpec("broker.epoch", keyed_by="nothing", partitions=1, retention_ms=-1)

# the features agent's one stream, co-partitioned
FEATURE_INPUTS = (RAW_SWAPS, RAW_QUOTES, RAW_PERPS, RAW_POOLS)
# the market the features and launches agents read
RAW_TOPICS = (RAW_SWAPS, RAW_LAUNCHES, RAW_QUOTES, RAW_PERPS, RAW_POOLS)
MARKET_DATA_TOPICS = (RAW_MINTS,)
# Written only by the market feed and the collectors, outside transactions, and never compacted: every
# offset holds a record, so a consumer that meets a gap in them was not handed what lies between.
CONTIGUOUS_TOPICS = RAW_TOPICS
PIPELINE_TOPICS = (FEATURES, SIGNALS, ORDERS, ORDERS_REJECTED, FILLS, ALLOCATIONS)
DLQ_TOPICS = (DLQ_RAW, DLQ_FEATURES, DLQ_SIGNALS, DLQ_ORDERS)
CONTROL_TOPICS = (CONTROL, CONTROL_MANUAL, STRATEGY_PARAMS)
# What the single risk agent reads as one stream, in log order (each has one partition: one owner).
RISK_INPUTS = (SIGNALS, FILLS, RAW_MINTS, CONTROL, CONTROL_MANUAL, STRATEGY_PARAMS)
ALL_TOPICS: tuple[TopicSpec, ...] = (
    RAW_TOPICS + MARKET_DATA_TOPICS + CONTROL_TOPICS + PIPELINE_TOPICS + DLQ_TOPICS
)


def partitions_of(spec: TopicSpec, default: int) -> int:
    return spec.partitions if spec.partitions is not None else default
