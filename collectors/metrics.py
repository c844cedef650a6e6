"""The collectors' Prometheus metrics, registered once here (the default registry, which the worker's
/metrics view and `solbot collect` expose)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# `source` is "<collector>" for data lag (received - event time) and "<collector>_produce" for the
# time from receipt to the broker's acknowledgement of the produced record.
COLLECTOR_LAG = Histogram(
    "solbot_collector_lag_seconds",
    "Data lag of live collectors: event time to receipt, and receipt to produced",
    ["source"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

COLLECTOR_EVENTS = Counter(
    "solbot_collector_events_total",
    "What live collectors did with what they received",
    ["source", "outcome"],
)
