"""`GET /status/` on every worker: what this worker runs, what it owns, how far behind it is.

Reads Faust's own monitor and consumer, plus the models and risk state this process holds, so an
operator (or a script) sees the worker's health as one JSON object.
"""

from __future__ import annotations

import time
from typing import Any

from faust.web import Request, Response, View

from streams.app import app

_started = time.time()


def _partitions() -> tuple[dict[str, list[int]], dict[str, int]]:
    owned: dict[str, list[int]] = {}
    lag: dict[str, int] = {}
    consumer = app.consumer
    try:
        assignment = consumer.assignment()
    except Exception:  # consumer not started yet: report nothing rather than fail the view
        return owned, lag
    read = getattr(consumer, "_read_offset", {})
    for tp in sorted(assignment):
        owned.setdefault(tp.topic, []).append(tp.partition)
        if tp.topic.endswith("-changelog") or "__assignor" in tp.topic:
            continue  # read only during recovery: its 'lag' is not work waiting
        try:
            high = consumer.highwater(tp)
        except Exception:
            high = None
        last = read.get(tp)
        if high is not None and high >= 0:
            lag[f"{tp.topic}:{tp.partition}"] = max(0, int(high) - (int(last) + 1 if last is not None else 0))
    return owned, lag


def status_payload() -> dict[str, Any]:
    from agents.model import models_by_pair
    from tables.risk import portfolio_to_risk_state

    monitor = app.monitor
    owned, lag = _partitions()
    received = dict(getattr(monitor, "messages_received_by_topic", {}))
    sent = {str(k): v for k, v in getattr(monitor, "messages_sent_by_topic", {}).items()}
    risk = {}
    for portfolio, raw in portfolio_to_risk_state.data.items():
        risk[str(portfolio)] = {
            k: raw.get(k) for k in ("halted", "halt_reason", "decided", "approved", "rejected")
        }
    return {
        "app": app.conf.id,
        "uptime_s": round(time.time() - _started, 1),
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


@app.page("/status/")
class StatusView(View):
    async def get(self, request: Request) -> Response:
        return self.json(status_payload())


@app.page("/balances/check/")
class BalanceCheckView(View):
    """The database's balances against the local chain's, where the chain lives (`solbot check balances`)."""

    async def get(self, request: Request) -> Response:
        from agents.execution import balance_check

        payload = await balance_check()
        return self.json(payload, status=200 if payload["available"] else 409)
