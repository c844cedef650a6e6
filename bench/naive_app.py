"""The peer a typical Faust bot would be: one event at a time, one windowed-table write per event.

Faust's defaults (JSON Record values decoded by Faust, per-event iteration, producer linger 0), except the
group timeouts, which only change how long a start takes on Tansu, not throughput, and the partition
count, which a table must share with its source topic. `GET /count/` tells
how many events it has processed, for `bench/run.py`.
"""

from __future__ import annotations

import os
from typing import Any

import faust
from faust.web import Request, Response, View

from core.settings import load_settings
from streams.app import faust_credentials
from streams.broker_auth import broker_auth
from streams.records import Swap

app = faust.App(
    "naive-bench",
    broker=os.environ.get("BROKER_URL", "kafka://127.0.0.1:9092"),
    # The same sign-in as the bot's workers, so the comparison runs on the same (SASL) broker.
    broker_credentials=faust_credentials(broker_auth(load_settings())),
    store="memory://",
    topic_partitions=int(os.environ.get("TOPIC_PARTITIONS", "4")),  # a table must match its source topic
    broker_session_timeout=10,
    broker_rebalance_timeout=10,
    broker_heartbeat_interval=1,
    web_port=int(os.environ.get("WORKER_WEB_PORT", "6099")),
    web_bind="127.0.0.1",
    datadir=os.environ.get("DATA_DIR", "/tmp/naive-bench"),
)
swaps = app.topic("raw.swaps", value_type=Swap)
volume = app.Table("naive_volume", default=float).tumbling(1.0, expires=60.0).relative_to_stream()
processed = {"n": 0}


@app.agent(swaps)
async def count_volume(stream: Any) -> None:
    async for swap in stream:
        volume[swap.pair] += swap.base_amount / 10**swap.base_decimals
        processed["n"] += 1


@app.page("/count/")
class CountView(View):
    async def get(self, request: Request) -> Response:
        return self.json({"processed": processed["n"], "partitions": len(app.consumer.assignment())})


if __name__ == "__main__":
    app.main()
