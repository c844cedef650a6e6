"""The worker's own web pages (Faust's web server): `/status/`, `/balances/check/` and `/metrics`.

`/status/` is what this worker runs, what it owns and how far behind it is, as one JSON object: Faust's
monitor and consumer, plus the models and risk state this process holds. `/balances/check/` compares the
database's balances with the local chain's where the chain lives (`solbot check balances`). `/metrics` is
the Prometheus registry of `core.metrics`, with the gauges that are cheaper to compute at scrape time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agents.context import WorkerContext
from core.metrics import BASELINE_LOG_LOSS, CONSUMER_LAG, MODEL_LOG_LOSS, refresh_event_ages
from models.online import DelayedLabeler
from streams.compat.consumer import assignment, highwater, read_offsets


def partitions(consumer: Any) -> tuple[dict[str, list[int]], dict[str, int]]:
    """The partitions this worker owns by topic, and the lag of each stream partition."""
    owned: dict[str, list[int]] = {}
    lag: dict[str, int] = {}
    read = read_offsets(consumer) if hasattr(consumer, "_read_offset") else {}
    for tp in sorted(assignment(consumer)):
        owned.setdefault(tp.topic, []).append(tp.partition)
        if tp.topic.endswith("-changelog") or "__assignor" in tp.topic:
            continue  # read only during recovery: its 'lag' is not work waiting
        high = highwater(consumer, tp)
        last = read.get(tp)
        if high is not None and high >= 0:
            lag[f"{tp.topic}:{tp.partition}"] = max(0, int(high) - (int(last) + 1 if last is not None else 0))
    return owned, lag


def status_payload(ctx: WorkerContext, models_by_pair: Mapping[str, DelayedLabeler]) -> dict[str, Any]:
    app = ctx.app
    monitor = app.monitor
    owned, lag = partitions(app.consumer)
    received = dict(getattr(monitor, "messages_received_by_topic", {}))
    sent = {str(k): v for k, v in getattr(monitor, "messages_sent_by_topic", {}).items()}
    risk = {}
    for portfolio, raw in ctx.risk_table.data.items():
        risk[str(portfolio)] = {
            k: raw.get(k) for k in ("halted", "halt_reason", "decided", "approved", "rejected")
        }
        risk[str(portfolio)]["pending"] = sorted(raw.get("pending", {}))  # orders awaiting their fills
    return {
        "app": app.conf.id,
        "uptime_s": round(time.time() - ctx.started_s, 1),
        "processing_guarantee": str(app.conf.processing_guarantee.value),
        "agents": sorted(agent.name for agent in app.agents.values()),
        "partitions": owned,
        "lag": lag,
        "lag_total": sum(lag.values()),
        "received_by_topic": {str(k): v for k, v in received.items()},
        "sent_by_topic": sent,
        "dead_letters": sum(v for k, v in sent.items() if k.startswith("dlq.")),
        "events_per_s": round(float(getattr(monitor, "events_s", 0) or 0), 1),
        "tables": {name: len(table.data) for name, table in app.tables.items()},
        "models": {pair: labeler.metrics() for pair, labeler in sorted(models_by_pair.items())},
        "risk": risk,
    }


def refresh_scrape_gauges(payload: Mapping[str, Any]) -> None:
    """Gauges that are cheaper to compute at scrape time than on the hot path."""
    refresh_event_ages()
    for key, lag in payload["lag"].items():
        topic, _, partition = key.rpartition(":")
        CONSUMER_LAG.labels(topic, partition).set(lag)
    for pair, m in payload["models"].items():
        if m.get("n"):
            MODEL_LOG_LOSS.labels(pair).set(m.get("log_loss", 0.0))
            BASELINE_LOG_LOSS.labels(pair).set(m.get("baseline_log_loss", 0.0))


def register_views(
    ctx: WorkerContext,
    *,
    models_by_pair: Mapping[str, DelayedLabeler],
    balance_check: Callable[[], Any],
) -> None:
    """Add the worker's pages to its app; they read the runners' state through what is passed here."""

    async def status(view: View, request: Request) -> Response:
        return view.json(status_payload(ctx, models_by_pair))

    async def balances_check(view: View, request: Request) -> Response:
        """The database's balances against the local chain's, where the chain lives."""
        payload = await balance_check()
        return view.json(payload, status=200 if payload["available"] else 409)

    async def prometheus(view: View, request: Request) -> Response:
        refresh_scrape_gauges(status_payload(ctx, models_by_pair))
        # aiohttp refuses a charset inside content_type; Prometheus' text format is plain UTF-8.
        return view.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    ctx.app.page("/status/", name="StatusView")(status)
    ctx.app.page("/balances/check/", name="BalanceCheckView")(balances_check)
    ctx.app.page("/metrics", name="MetricsView")(prometheus)
