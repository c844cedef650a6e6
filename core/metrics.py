"""Prometheus metrics of a worker (served at `/metrics` on its Faust web port by `web.metrics`).

The names are a contract with compose/prometheus/alerts.yml and the Grafana dashboard: change them
together. Latencies are measured from broker timestamps carried in the records (`origin_ms`) or of the
consumed record, so each hop's figure includes its broker wait.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)

HOP_LATENCY = Histogram(
    "solbot_hop_latency_seconds",
    "Broker timestamp of a hop's input to its output being sent",
    ["hop"],
    buckets=_BUCKETS,
)
DECISION_LATENCY = Histogram(
    "solbot_decision_latency_seconds",
    "Raw event published to the order it led to being sent",
    buckets=_BUCKETS,
)
EVENTS = Counter("solbot_events_total", "Messages an agent consumed", ["agent"])
DEAD_LETTERS = Counter("solbot_dead_letters_total", "Messages sent to a dead-letter topic", ["agent"])
CONSUMER_LAG = Gauge("solbot_consumer_lag", "End offset minus read offset", ["topic", "partition"])
MODEL_LOG_LOSS = Gauge("solbot_model_log_loss", "Progressive-validation log loss", ["pair"])
BASELINE_LOG_LOSS = Gauge("solbot_model_baseline_log_loss", "Naive baseline's log loss", ["pair"])
MERGE_HELD = Gauge("solbot_model_merge_held", "Snapshots the model agent holds for event-time order")
MERGE_LATE = Counter("solbot_model_merge_late_total", "Snapshots scored after later ones (an idle partition)")
RISK_FILL_GIVE_UPS = Counter("solbot_risk_fill_wait_give_ups_total", "Orders risk stopped awaiting fills of")
MODEL_DRIFT = Counter("solbot_model_drift_total", "Drift detections on a model's error", ["pair"])
EQUITY = Gauge("solbot_equity_usdc", "Portfolio equity marked to market, USDC")
DRAWDOWN = Gauge("solbot_drawdown_ratio", "Drawdown from peak equity, 0..1")
EXPOSURE = Gauge("solbot_exposure_usdc", "Exposure per pair, USDC", ["pair"])
ORDERS = Counter("solbot_orders_total", "Orders by state", ["state"])
LIVE_CHAIN_MISMATCHES = Counter(
    "solbot_live_chain_mismatches_total", "Reconciliations that found the database apart from the chain"
)
LIVE_SENDS_REFUSED = Counter("solbot_live_sends_refused_total", "Live orders refused unsent", ["reason"])
VENUE_ERRORS = Counter("solbot_venue_errors_total", "Venue errors", ["venue"])
MARKET_FILL_FAILURES = Counter(
    "solbot_market_fill_failures_total",
    "Orders that failed because the market moved (e.g. past the slippage floor), not the venue",
    ["venue", "reason"],
)
VENUE_LATENCY = Histogram("solbot_venue_latency_seconds", "Venue execution time", ["venue"], buckets=_BUCKETS)
LAST_EVENT_AGE = Gauge("solbot_last_event_age_seconds", "Wall time since a pair's last raw event", ["pair"])
# The landing-driven fee policy (venues.fee_source) and the Jito relay (venues.jito).
FEE_UNIT_PRICE = Gauge(
    "solbot_fee_unit_price_micro_lamports", "Last compute-unit price chosen, micro-lamports/CU", ["venue"]
)
FEE_MARKET_PRICE = Gauge(
    "solbot_fee_market_unit_price_micro_lamports",
    "Percentile of getRecentPrioritizationFees the last price started from",
    ["venue"],
)
FEE_TIP = Gauge("solbot_fee_tip_lamports", "Last Jito tip chosen, lamports", ["venue"])
FEE_TIP_FLOOR = Gauge("solbot_fee_tip_floor_lamports", "Jito tip floor at the policy's percentile", ["venue"])
FEE_LANDING_RATE = Gauge(
    "solbot_fee_landing_rate", "Share of recent transactions that landed, 0..1", ["venue"]
)
FEE_MULTIPLIER = Gauge(
    "solbot_fee_multiplier", "Landing-driven multiplier on the market fee and tip", ["venue"]
)
FEE_LANDINGS = Counter(
    "solbot_fee_landings_total", "Transaction outcomes the fee policy learned", ["venue", "landed"]
)
JITO_REQUESTS = Counter(
    "solbot_jito_requests_total", "Requests to the Jito block engine", ["method", "outcome"]
)
NOTIFICATIONS = Counter(
    "solbot_notifications_total",
    "Notifications by destination and outcome (sent, failed, dropped)",
    ["destination", "outcome"],
)
JITO_BUNDLES = Counter("solbot_jito_bundle_statuses_total", "Inflight bundle statuses read", ["status"])
# Faults and recovery (core/faults.py, agents/recovery.py, risk/reconcile.py, risk/fencing.py).
FAULTS_INJECTED = Counter("solbot_faults_injected_total", "Exceptions raised by FAULT_INJECT", ["point"])
BATCH_FAILURES = Counter(
    "solbot_batch_failures_total", "Agent batches that failed at a side-effect boundary", ["agent"]
)
REWINDS = Counter("solbot_rewinds_total", "Partitions sought back to their stored offsets", ["agent"])
INPUT_HOLES = Counter(
    "solbot_input_holes_records_total",
    "Records of a raw topic its agent was never handed, even when read again",
    ["topic"],
)
RECONCILE_RUNS = Counter("solbot_reconcile_runs_total", "Reconciliations of the risk state", ["outcome"])
RECONCILE_DIFFERENCES = Counter(
    "solbot_reconcile_differences_total",
    "Differences between the risk state and the database",
    ["kind", "action"],
)
STALE_WRITES = Counter(
    "solbot_stale_owner_writes_refused_total", "Writes of a stale risk owner refused", ["where"]
)

_last_event_wall: dict[str, float] = {}


def observe_hop(hop: str, since_ms: float) -> None:
    HOP_LATENCY.labels(hop).observe(max(0.0, time.time() - since_ms / 1000.0))


def saw_event(pair: str) -> None:
    _last_event_wall[pair] = time.time()


def refresh_event_ages() -> None:
    """Set each pair's last-event age; cheaper at scrape time than on the hot path."""
    now = time.time()
    for pair, seen in _last_event_wall.items():
        LAST_EVENT_AGE.labels(pair).set(now - seen)
