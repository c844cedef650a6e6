"""The worker's `/metrics` page: the Prometheus registry of `core.metrics`, refreshed at scrape time."""

from __future__ import annotations

from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from core.metrics import BASELINE_LOG_LOSS, CONSUMER_LAG, MODEL_LOG_LOSS, refresh_event_ages
from streams.app import app


def _refresh() -> None:
    """Gauges that are cheaper to compute at scrape time than on the hot path."""
    from web.status import status_payload

    refresh_event_ages()
    payload = status_payload()
    for key, lag in payload["lag"].items():
        topic, _, partition = key.rpartition(":")
        CONSUMER_LAG.labels(topic, partition).set(lag)
    for pair, m in payload["models"].items():
        if m.get("n"):
            MODEL_LOG_LOSS.labels(pair).set(m.get("log_loss", 0.0))
            BASELINE_LOG_LOSS.labels(pair).set(m.get("baseline_log_loss", 0.0))


@app.page("/metrics")
class MetricsView(View):
    async def get(self, request: Request) -> Response:
        _refresh()
        # aiohttp refuses a charset inside content_type; Prometheus' text format is plain UTF-8.
        return self.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])
