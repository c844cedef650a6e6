"""Garbage on every raw topic: it lands on the dead-letter topic with a reason, and the bot still trades."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from core.settings import Settings
from services.stack import Stack
from solbot.audit import read_topic
from solbot.runner import drain
from streams.topics import RAW_TOPICS
from tests.integration.harness import running_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GARBAGE = [
    b"not json at all",
    b"",
    b"[1, 2, 3]",
    b'{"venue": "raydium"}',
    b'{"venue":"raydium","pool":"p","pair":"SOL/USDC","base_mint":"a","quote_mint":"b","base_decimals":9,'
    b'"quote_decimals":6,"side":"sideways","base_amount":1,"quote_amount":1,"base_reserve":1,"quote_reserve":1,'
    b'"fee_bps":25,"slot":1,"ts_ms":1,"received_ms":1,"signature":"s"}',
    b"\xff\xfe\x00binary",
]


async def test_garbage_goes_to_dead_letters_and_trading_continues(
    fresh_stack: Stack, fresh_settings: Settings
) -> None:
    async with running_pipeline(fresh_settings, fresh_stack, seed=11, rate_eps=300, duration_s=45) as p:
        producer = AIOKafkaProducer(bootstrap_servers=p.bootstrap)
        await producer.start()
        try:
            for _ in range(20):
                for spec in RAW_TOPICS:
                    for junk in GARBAGE:
                        await producer.send(spec.name, key=b"SOL/USDC", value=junk)
                await asyncio.sleep(1.0)
            await producer.flush()
        finally:
            await producer.stop()
        await p.feed
        await drain(p.monitor, quiet_s=6, limit_s=40)
        async with httpx.AsyncClient() as client:
            scraped = (await client.get(f"http://127.0.0.1:{p.worker.web_port}/metrics")).text
            status = (await client.get(f"http://127.0.0.1:{p.worker.web_port}/status/")).json()
    monitor, bootstrap = p.monitor, p.bootstrap
    assert monitor.counts.orders > 0 and monitor.counts.fills > 0
    letters = await read_topic(bootstrap, "dlq.raw")
    swaps_letters = [d for d in letters if d.get("topic") == "raw.swaps"]
    assert len(swaps_letters) == 20 * len(GARBAGE)
    assert len([d for d in letters if d.get("topic") == "raw.launches"]) == 20 * len(GARBAGE)
    for market_data in ("raw.quotes", "raw.perps", "raw.pools"):  # read by the features agent with the swaps
        assert len([d for d in letters if d.get("topic") == market_data]) == 20 * len(GARBAGE)
    reasons = {d["reason"] for d in swaps_letters}
    assert any("not JSON" in r for r in reasons) and any("side" in r for r in reasons)
    originals = {base64.b64decode(d["value_b64"]) for d in swaps_letters}
    assert originals == set(GARBAGE)
    assert all(orjson.loads(orjson.dumps(d)) == d for d in letters)
    # Every hop's latency histogram has observations, and the dead letters are counted.
    for hop in ("raw_to_features", "features_to_signals", "signals_to_orders", "orders_to_fills"):
        count = _sample(scraped, f'solbot_hop_latency_seconds_count{{hop="{hop}"}}')
        assert count > 0, hop
    assert _sample(scraped, "solbot_decision_latency_seconds_count") > 0
    assert _sample(scraped, 'solbot_venue_latency_seconds_count{venue="paper"}') > 0
    # raw.swaps, raw.quotes, raw.perps and raw.pools reach the features agent; raw.launches the launches agent
    assert _sample(scraped, 'solbot_dead_letters_total{agent="build_features"}') == 4 * 20 * len(GARBAGE)
    assert status["dead_letters"] == 5 * 20 * len(GARBAGE)
    assert set(status["agents"]) >= {"agents.features.build_features", "agents.risk.decide_risk"}
    # The worker's JSON log follows a fill back to the raw record that opened its snapshot.
    lines = [json.loads(line) for line in p.worker.log_path.read_text().splitlines() if line.startswith("{")]
    fills = [entry for entry in lines if entry.get("message") == "fill" and entry.get("status") == "filled"]
    assert fills
    corr = fills[0]["correlation_id"]
    trail = {entry["message"]: entry for entry in lines if entry.get("correlation_id") == corr}
    assert {"snapshot", "signal", "decision", "fill"} <= set(trail)
    assert trail["snapshot"]["topic"] == "raw.swaps" and trail["snapshot"]["offset"] >= 0


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics: {text[:300]}")
