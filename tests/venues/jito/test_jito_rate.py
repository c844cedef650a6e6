"""Jito's shared request budget and bundle statuses: the token bucket, getInflightBundleStatuses and the
tip floor on the documented shapes (tests/venues/vectors/jito.json), the tracker that reads them."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from core.errors import RpcRateLimited
from sandbox.http import serve
from venues.interface import RelayVerdict
from venues.jito.execution import JitoClient
from venues.jito.rate import TokenBucket
from venues.jito.schemas import InflightBundleStatus, parse_inflight_status
from venues.jito.status import BundleTracker

JITO = json.loads((Path(__file__).parent.parent / "vectors" / "jito.json").read_text())
A, B = (e["bundle_id"] for e in JITO["getInflightBundleStatuses"]["response"]["result"]["value"])


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_refills_at_its_rate_and_a_429_pauses_it() -> None:
    clock = Clock()
    bucket = TokenBucket(2.0, clock=clock)
    assert bucket.try_acquire() and not bucket.try_acquire()
    assert bucket.wait_s() == pytest.approx(0.5)
    clock.now = 0.5
    assert bucket.try_acquire()
    clock.now = 10.0  # idle time saves at most `burst` tokens
    assert bucket.try_acquire() and not bucket.try_acquire()
    bucket.pause(3.0)
    clock.now = 12.9
    assert not bucket.try_acquire() and bucket.wait_s() == pytest.approx(0.1)
    clock.now = 13.0
    assert bucket.try_acquire()
    bucket.pause(None)  # no hint: one refill period
    assert bucket.wait_s() == pytest.approx(0.5)
    with pytest.raises(ValueError):
        TokenBucket(0)


async def test_waiting_callers_are_served_one_per_period_in_order() -> None:
    bucket = TokenBucket(20.0)
    served: list[tuple[int, float]] = []
    loop = asyncio.get_running_loop()

    async def take(i: int) -> None:
        await bucket.acquire()
        served.append((i, loop.time()))

    await asyncio.gather(*(take(i) for i in range(6)))
    assert [i for i, _ in served] == list(range(6))
    gaps = [b - a for (_, a), (_, b) in itertools.pairwise(served)]
    assert min(gaps) >= 0.045


def test_inflight_statuses_parse_as_documented() -> None:
    value = JITO["getInflightBundleStatuses"]["response"]["result"]["value"]
    assert [parse_inflight_status(e) for e in value] == [
        InflightBundleStatus(A, "Landed", 280999020),
        InflightBundleStatus(B, "Invalid", None),
    ]
    with pytest.raises(ValueError):
        parse_inflight_status({"bundle_id": A, "status": "Lost", "landed_slot": None})


class Engine:
    """Answers with the vectors' bodies; `statuses` overrides the inflight status per bundle id."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses: dict[str, str] = {}
        self.limited = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.bodies.append(body)
        if self.limited:
            self.limited -= 1
            error = {"code": 429, "message": "rate limited"}
            return web.json_response({"jsonrpc": "2.0", "error": error, "id": body["id"]}, status=429)
        if body["method"] == "getInflightBundleStatuses":
            value = [
                {"bundle_id": b, "status": self.statuses.get(b, "Pending"), "landed_slot": None}
                for b in body["params"][0]
            ]
            result = {"context": {"slot": 280999028}, "value": value}
        elif body["method"] == "getBundleStatuses":
            result = JITO["getBundleStatuses"]["not_found"]["result"]
        else:
            result = JITO["sendBundle"]["response"]["result"]
        return web.json_response({"jsonrpc": "2.0", "result": result, "id": body["id"]})

    async def floor(self, request: web.Request) -> web.Response:
        return web.json_response(JITO["tip_floor"]["response"])


async def _engine() -> tuple[Engine, web.AppRunner, JitoClient]:
    engine = Engine()
    runner, url = await serve(
        [("POST", "/api/v1/bundles", engine.handle), ("GET", "/api/v1/bundles/tip_floor", engine.floor)]
    )
    client = JitoClient(
        f"{url}/api/v1/bundles", requests_per_s=1_000, tip_floor_url=f"{url}/api/v1/bundles/tip_floor"
    )
    return engine, runner, client


async def test_client_reads_inflight_statuses_and_the_tip_floor() -> None:
    engine, runner, jito = await _engine()
    engine.statuses = {A: "Landed"}
    try:
        found = await jito.get_inflight_bundle_statuses([A, B])
        floor = await jito.tip_floor()
        with pytest.raises(ValueError):
            await jito.get_inflight_bundle_statuses([A] * 6)
    finally:
        await jito.close()
        await runner.cleanup()
    assert [(s.bundle_id, s.status) for s in found if s is not None] == [(A, "Landed"), (B, "Pending")]
    assert engine.bodies[0]["params"] == [[A, B]]
    assert floor.at(50) == 10_000 and floor.at(75) == 36_197


async def test_a_429_pauses_the_shared_bucket_and_a_resend_without_a_token_sends_nothing() -> None:
    engine, runner, jito = await _engine()
    jito.bucket = TokenBucket(1_000)
    engine.limited = 1
    try:
        with pytest.raises(RpcRateLimited):
            await jito.send_bundle(["AQ=="])
        assert jito.rate_limited == 1 and jito.bucket.wait_s() > 0
        assert await jito.try_send_bundle(["AQ=="]) is None  # paused: nothing sent
        assert len(engine.bodies) == 1
        assert await jito.send_bundle(["AQ=="]) == JITO["sendBundle"]["response"]["result"]  # waits
    finally:
        await jito.close()
        await runner.cleanup()
    assert len(engine.bodies) == 2


async def test_the_tracker_polls_at_most_five_bundles_per_interval_and_sees_failed_at_once() -> None:
    engine, runner, jito = await _engine()
    jito.bucket = TokenBucket(1.0, burst=10)  # tokens to spare: this test is about the batches, not the rate
    clock = Clock()
    tracker = BundleTracker(jito, poll_interval_s=1.0, clock=clock)
    ids = [f"{i:064x}" for i in range(7)]
    for i, bundle in enumerate(ids):
        tracker.sent(f"sig{i}", bundle)
    engine.statuses = {ids[0]: "Failed", ids[6]: "Landed"}
    try:
        assert await tracker.verdict("sig0") is RelayVerdict.FAILED
        assert await tracker.verdict("sig6") is RelayVerdict.UNKNOWN  # not in the first five, no poll yet
        clock.now = 1.0
        assert await tracker.verdict("sig6") is RelayVerdict.LANDED
        assert await tracker.verdict("sig1") is RelayVerdict.PENDING
        assert await tracker.verdict("unknown-sig") is RelayVerdict.UNKNOWN
        engine.statuses = {ids[1]: "Invalid"}
        clock.now = 2.0
        await tracker.verdict("sig1")
        assert await tracker.verdict("sig1") is RelayVerdict.INVALID
        clock.now = 3.0
        await tracker.verdict("sig1")  # an Invalid bundle is asked of getBundleStatuses next
    finally:
        await jito.close()
        await runner.cleanup()
    methods = [b["method"] for b in engine.bodies]
    assert methods == ["getInflightBundleStatuses"] * 3 + ["getBundleStatuses"]
    assert [len(b["params"][0]) for b in engine.bodies[:2]] == [5, 5]
    assert tracker.polls == 4
