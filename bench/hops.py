"""Where a tick's time goes: per-hop latency and the waits' counters, read from a worker's `/metrics`.

The bench's tick-to-order figure is one number; under contention it grows from milliseconds to seconds
and this says which hop took them (`solbot_hop_latency_seconds`: raw -> features -> signals -> orders ->
fills), and whether the risk agent's fill barrier gave up waiting (each give-up is a full
`RISK_FILL_WAIT_MS` stall of every signal behind it) or the event-time merge released snapshots late.
"""

from __future__ import annotations

import math
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

HOPS = ("raw_to_features", "features_to_signals", "signals_to_orders", "orders_to_fills")


def _bucket_quantile(buckets: list[tuple[float, float]], count: float, q: float) -> float | None:
    """The upper bound of the histogram bucket holding the q-quantile (None: nothing observed, or beyond
    the last finite bucket: JSON has no infinity, and `over_last_bucket` counts those)."""
    if count <= 0:
        return None
    rank = q * count
    for bound, cumulative in sorted(buckets):
        if cumulative >= rank:
            return bound if math.isfinite(bound) else None
    return None


def _over_last_bucket(buckets: list[tuple[float, float]], count: float) -> int:
    finite = [cumulative for bound, cumulative in sorted(buckets) if math.isfinite(bound)]
    return int(count - finite[-1]) if finite else int(count)


def hop_breakdown(metrics_text: str) -> dict[str, Any]:
    """Per hop: count, mean ms, the p50/p99 bucket bounds in ms and how many took longer than the last
    bucket (10 s in core.metrics); plus the fill barrier's give-ups and the merge's late snapshots."""
    buckets: dict[str, list[tuple[float, float]]] = {h: [] for h in HOPS}
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    give_ups = late = 0.0
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            hop = labels.get("hop")
            if name == "solbot_hop_latency_seconds_bucket" and hop in buckets:
                buckets[hop].append((float(labels["le"]), value))
            elif name == "solbot_hop_latency_seconds_sum" and hop in buckets:
                sums[hop] = value
            elif name == "solbot_hop_latency_seconds_count" and hop in buckets:
                counts[hop] = value
            elif name == "solbot_risk_fill_wait_give_ups_total":
                give_ups = value
            elif name == "solbot_model_merge_late_total":
                late = value
    out: dict[str, Any] = {}
    for hop in HOPS:
        n = counts.get(hop, 0.0)
        p50, p99 = (_bucket_quantile(buckets[hop], n, q) for q in (0.5, 0.99))
        out[hop] = {
            "n": int(n),
            "mean_ms": round(sums.get(hop, 0.0) / n * 1000, 1) if n else None,
            "p50_le_ms": None if p50 is None else p50 * 1000,
            "p99_le_ms": None if p99 is None else p99 * 1000,
            "over_last_bucket": _over_last_bucket(buckets[hop], n),
        }
    out["fill_wait_give_ups"] = int(give_ups)
    out["merge_late"] = int(late)
    return out
