"""SolanaWsClient against a local server speaking Solana's PubSub format: acks, routing, reconnects,
stalls, malformed frames."""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import AsyncIterator

import orjson
import pytest

from collectors.solana_ws import Notification, SolanaWsClient
from tests.collectors.solana_pubsub_server import PUMP, PubSubServer, eventually

RAYDIUM = "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8"
CURVE = "8sfEgnCnvB8pzeZEeXzbFfyo3ByNpiBvdf8Vo3sqYPdB"


class Recorder:
    def __init__(self) -> None:
        self.seen: list[Notification] = []

    async def __call__(self, n: Notification) -> None:
        self.seen.append(n)


@pytest.fixture
async def server() -> AsyncIterator[PubSubServer]:
    async with PubSubServer() as s:
        yield s


async def _run(client: SolanaWsClient) -> asyncio.Task[None]:
    return asyncio.create_task(client.run())


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_acks_are_matched_and_notifications_routed(server: PubSubServer) -> None:
    client = SolanaWsClient(server.url, stall_s=5)
    slots, pump, ray, acct = Recorder(), Recorder(), Recorder(), Recorder()
    client.subscribe_slots(slots)
    client.subscribe_logs(PUMP, pump)
    client.subscribe_logs(RAYDIUM, ray)
    client.subscribe_account(CURVE, acct)
    server.expect = 4
    task = await _run(client)
    try:
        await asyncio.wait_for(client.connected.wait(), 5)
        assert [r["method"] for r in server.requests] == [
            "slotSubscribe",
            "logsSubscribe",
            "logsSubscribe",
            "accountSubscribe",
        ]
        assert server.requests[1]["params"] == [{"mentions": [PUMP]}, {"commitment": "confirmed"}]
        assert server.requests[2]["params"] == [{"mentions": [RAYDIUM]}, {"commitment": "confirmed"}]
        assert server.requests[3]["params"] == [CURVE, {"encoding": "base64", "commitment": "confirmed"}]
        assert len({r["id"] for r in server.requests}) == 4

        await server.notify_slot(5208469)
        await server.notify_logs(RAYDIUM, signature="sigR", logs=["Program log: hi"], slot=5208469)
        await server.notify_logs(PUMP, signature="sigP", logs=[], slot=5208470)
        data = base64.b64encode(b"\x17" * 8).decode()
        await server.notify_account(CURVE, data_b64=data, slot=5208470, lamports=33594)
        await eventually(lambda: len(acct.seen) == 1)
        assert slots.seen[0].result == {"parent": 5208468, "root": 5208437, "slot": 5208469}
        assert ray.seen[0].result["value"]["signature"] == "sigR"
        assert pump.seen[0].result["context"] == {"slot": 5208470}
        assert acct.seen[0].result["value"]["data"] == [data, "base64"]
        assert client.stats.notifications == 4 and client.stats.malformed == 0
        assert pump.seen[0].received_ms > 0 and '"logsNotification"' in pump.seen[0].raw
    finally:
        await _stop(task)


async def test_server_disconnect_reconnects_and_resubscribes(server: PubSubServer) -> None:
    client = SolanaWsClient(server.url, stall_s=5, backoff_initial_s=0.02, backoff_max_s=0.1)
    pump = Recorder()
    client.subscribe_slots(Recorder())
    client.subscribe_logs(PUMP, pump)
    server.expect = 2
    task = await _run(client)
    try:
        await asyncio.wait_for(server.subscribed.wait(), 5)
        first_id = server.sub_id("logsSubscribe", PUMP)
        await server.notify_logs(PUMP, signature="a", logs=[], slot=1)
        await eventually(lambda: len(pump.seen) == 1)

        await server.drop()
        await eventually(lambda: server.connections == 2 and len(server.requests) == 4)
        await eventually(lambda: client.connected.is_set())
        assert [r["method"] for r in server.requests[2:]] == ["slotSubscribe", "logsSubscribe"]
        assert server.requests[3]["params"] == server.requests[1]["params"]
        assert server.sub_id("logsSubscribe", PUMP) != first_id  # ids belong to one connection
        await server.notify_logs(PUMP, signature="b", logs=[], slot=2)
        await eventually(lambda: len(pump.seen) == 2)
        assert pump.seen[1].result["value"]["signature"] == "b"
        assert client.stats.connects == 2 and client.stats.reconnects == 1
    finally:
        await _stop(task)


async def test_a_stalled_server_is_detected_reported_and_left(server: PubSubServer) -> None:
    stalls: list[float] = []
    client = SolanaWsClient(
        server.url, stall_s=0.3, backoff_initial_s=0.02, backoff_max_s=0.05, on_stall=stalls.append
    )
    pump = Recorder()
    client.subscribe_logs(PUMP, pump)
    server.expect = 1
    task = await _run(client)
    try:
        await asyncio.wait_for(server.subscribed.wait(), 5)
        server.stalled = True  # the socket stays open, acked, and silent
        await eventually(lambda: client.stats.stalls >= 1 and server.connections >= 2)
        assert stalls[0] == 0.3
        server.stalled = False
        await eventually(lambda: client.connected.is_set())
        await server.notify_logs(PUMP, signature="after", logs=[], slot=3)
        await eventually(lambda: len(pump.seen) == 1)
    finally:
        await _stop(task)


async def test_notifications_keep_a_connection_alive(server: PubSubServer) -> None:
    client = SolanaWsClient(server.url, stall_s=0.4)
    slots = Recorder()
    client.subscribe_slots(slots)
    server.expect = 1
    task = await _run(client)
    try:
        await asyncio.wait_for(server.subscribed.wait(), 5)
        for slot in range(10):  # 1 s of slots every 0.1 s: never 0.4 s of silence
            await server.notify_slot(100 + slot)
            await asyncio.sleep(0.1)
        await eventually(lambda: len(slots.seen) == 10)
        assert client.stats.stalls == 0 and server.connections == 1
    finally:
        await _stop(task)


async def test_malformed_frames_are_counted_and_skipped(server: PubSubServer) -> None:
    client = SolanaWsClient(server.url, stall_s=5)
    pump = Recorder()
    client.subscribe_logs(PUMP, pump)
    server.expect = 1
    task = await _run(client)
    try:
        await asyncio.wait_for(client.connected.wait(), 5)
        await server.send_raw("{not json")
        await server.send_raw("[1, 2, 3]")
        await server.send_raw('{"jsonrpc":"2.0","method":"logsNotification","params":{"subscription":24040}}')
        await server.send_raw(
            '{"jsonrpc":"2.0","method":"slotNotification","params":{"result":{},"subscription":7}}'
        )
        sub = server.sub_id("logsSubscribe", PUMP)
        await server.send_raw(
            '{"jsonrpc":"2.0","method":"slotNotification","params":{"result":{"slot":1},"subscription":'
            + str(sub)
            + "}}"
        )
        await server.notify_logs(PUMP, signature="ok", logs=[], slot=9)
        await eventually(lambda: len(pump.seen) == 1)
        assert client.stats.malformed == 4  # not JSON, not an object, no result, wrong method
        assert client.stats.unrouted == 1
        assert server.connections == 1
    finally:
        await _stop(task)


async def test_a_failing_handler_does_not_stop_the_stream(server: PubSubServer) -> None:
    client = SolanaWsClient(server.url, stall_s=5)
    calls: list[int] = []

    async def flaky(n: Notification) -> None:
        calls.append(n.result["slot"])
        if len(calls) == 1:
            raise ValueError("boom")

    client.subscribe_slots(flaky)
    server.expect = 1
    task = await _run(client)
    try:
        await asyncio.wait_for(client.connected.wait(), 5)
        await server.notify_slot(10)
        await server.notify_slot(11)
        await eventually(lambda: calls == [10, 11])
        assert client.stats.handler_errors == 1
    finally:
        await _stop(task)


async def test_refused_subscription_is_counted_and_the_others_still_flow(server: PubSubServer) -> None:
    client = SolanaWsClient(server.url, stall_s=5)
    slots = Recorder()
    client.subscribe_account("not-a-pubkey", Recorder())
    client.subscribe_slots(slots)
    server.refuse = {"accountSubscribe"}
    server.expect = 2
    task = await _run(client)
    try:
        await asyncio.wait_for(client.connected.wait(), 5)
        assert client.stats.subscribe_errors == 1
        await server.send_raw('{"jsonrpc":"2.0","result":5,"id":12345}')  # an ack nobody asked for
        await server.notify_slot(42)
        await eventually(lambda: len(slots.seen) == 1)
        assert client.stats.malformed == 1
    finally:
        await _stop(task)


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    client = SolanaWsClient("ws://127.0.0.1:1", backoff_initial_s=0.5, backoff_max_s=8, rng=random.Random(7))
    for attempt, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0), (100, 8.0)]:
        delays = [client.backoff_s(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 4  # jittered, not fixed


async def test_unreachable_server_backs_off_until_cancelled() -> None:
    client = SolanaWsClient("ws://127.0.0.1:9", backoff_initial_s=0.01, backoff_max_s=0.02, open_timeout_s=1)
    client.subscribe_slots(Recorder())
    task = await _run(client)
    await eventually(lambda: client.stats.reconnects >= 3)
    assert client.stats.connects == 0
    await _stop(task)


SIG = "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW"


async def test_a_signature_subscription_ends_with_its_final_notification(server: PubSubServer) -> None:
    client = SolanaWsClient(server.url, stall_s=5, backoff_initial_s=0.02, backoff_max_s=0.1)
    statuses, slots = Recorder(), Recorder()
    sub = client.subscribe_signature(SIG, statuses, received=True)
    client.subscribe_slots(slots)
    server.expect = 2
    task = await _run(client)
    try:
        await asyncio.wait_for(client.connected.wait(), 5)
        assert server.requests[0]["method"] == "signatureSubscribe"
        assert server.requests[0]["params"] == [
            SIG,
            {"commitment": "confirmed", "enableReceivedNotification": True},
        ]
        await server.notify_signature(SIG, slot=7, received=True)
        await eventually(lambda: len(statuses.seen) == 1)
        assert statuses.seen[0].result["value"] == "receivedSignature"
        assert sub in client.subscriptions  # not final: still followed
        await server.notify_signature(SIG, slot=8, err={"InstructionError": [0, {"Custom": 1}]})
        await eventually(lambda: len(statuses.seen) == 2)
        assert statuses.seen[1].result == {
            "context": {"slot": 8},
            "value": {"err": {"InstructionError": [0, {"Custom": 1}]}},
        }
        assert sub not in client.subscriptions
        await server.drop()  # the next connection does not ask for the finished signature again
        await eventually(lambda: server.connections == 2 and len(server.requests) == 3)
        await eventually(lambda: client.connected.is_set())
        assert [r["method"] for r in server.requests[2:]] == ["slotSubscribe"]
        assert client.stats.by_method["signatureNotification"] == 2
    finally:
        await _stop(task)


async def test_unsubscribe_cancels_on_the_live_connection_and_for_later_ones(server: PubSubServer) -> None:
    client = SolanaWsClient(server.url, stall_s=5, backoff_initial_s=0.02, backoff_max_s=0.1)
    pump, slots = Recorder(), Recorder()
    logs = client.subscribe_logs(PUMP, pump)
    client.subscribe_slots(slots)
    server.expect = 2
    task = await _run(client)
    try:
        await asyncio.wait_for(client.connected.wait(), 5)
        sub_id = server.sub_id("logsSubscribe", PUMP)
        client.unsubscribe(logs)
        await eventually(lambda: len(server.unsubscribes) == 1)
        assert server.unsubscribes[0]["method"] == "logsUnsubscribe"
        assert server.unsubscribes[0]["params"] == [sub_id]
        late = {"result": {"context": {"slot": 1}, "value": {}}, "subscription": sub_id}
        await server.send_raw(
            orjson.dumps({"jsonrpc": "2.0", "method": "logsNotification", "params": late}).decode()
        )
        await server.notify_slot(5)
        await eventually(lambda: len(slots.seen) == 1)
        assert pump.seen == [] and client.stats.unrouted == 1  # a late one is not delivered
        assert client.stats.malformed == 0  # the unsubscribe's `true` is no stray ack
        await server.drop()
        await eventually(lambda: server.connections == 2 and len(server.requests) == 3)
        assert [r["method"] for r in server.requests[2:]] == ["slotSubscribe"]
    finally:
        await _stop(task)


async def test_a_subscription_withdrawn_before_its_ack_is_cancelled_when_acked(server: PubSubServer) -> None:
    client = SolanaWsClient(server.url, stall_s=5)
    logs = client.subscribe_logs(PUMP, Recorder())
    server.expect = 1
    server.acks_open.clear()
    task = await _run(client)
    try:
        await eventually(lambda: len(server.requests) == 1)  # sent, not yet acked
        client.unsubscribe(logs)
        server.acks_open.set()
        await eventually(lambda: len(server.unsubscribes) == 1)
        assert server.unsubscribes[0]["params"] == [24040]  # the id its late ack carried
        assert client.subscriptions == [] and client.connected.is_set()
    finally:
        await _stop(task)


async def test_confirmation_awaits_the_final_signature_notification(server: PubSubServer) -> None:
    client = SolanaWsClient(server.url, stall_s=5, backoff_initial_s=0.02, backoff_max_s=0.1)
    task = await _run(client)
    try:
        waiting = asyncio.create_task(client.confirmation(SIG, 5))
        await eventually(lambda: bool(server.requests))
        await asyncio.wait_for(client.connected.wait(), 5)
        assert server.requests[-1]["method"] == "signatureSubscribe"
        await server.notify_signature(SIG, slot=5207624)  # docs/protocols vector: value {"err": null}
        assert await waiting == {"err": None}
        assert client.subscriptions == []  # one-shot: gone with its final notification
        with pytest.raises(TimeoutError):
            await client.confirmation("1" * 64, 0.05)
        assert client.subscriptions == []  # withdrawn on timeout
    finally:
        await _stop(task)


async def test_cancel_stops_the_client_even_as_a_frame_arrives(server: PubSubServer) -> None:
    """Python 3.11's `asyncio.wait_for` returns the inner result when the cancel lands just as it
    completed, and the cancel is lost: a client reading a busy stream ran on after its task was
    cancelled (CI hung 300 s in the unsubscribe test's teardown). Cancelled mid-flood, it stops."""
    client = SolanaWsClient(server.url, stall_s=5)
    client.subscribe_slots(Recorder())
    server.expect = 1
    task = await _run(client)
    await asyncio.wait_for(server.subscribed.wait(), 5)
    sub_id = server.sub_id("slotSubscribe")
    frame = orjson.dumps(
        {
            "jsonrpc": "2.0",
            "method": "slotNotification",
            "params": {"result": {"parent": 1, "root": 0, "slot": 2}, "subscription": sub_id},
        }
    ).decode()

    async def flood() -> None:
        while True:
            await server.send_raw(frame)
            await asyncio.sleep(0)

    flooding = asyncio.create_task(flood())
    rng = random.Random(7)
    try:
        for round_ in range(200):  # each round cancels a fresh reader at a random point of the flood
            await asyncio.sleep(rng.random() * 0.002)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=2)
            assert done, f"the cancelled client kept running (round {round_})"
            assert task.cancelled()
            task = await _run(client)
            await asyncio.wait_for(client.connected.wait(), 5)
    finally:
        flooding.cancel()
        task.cancel()
        await asyncio.wait({flooding, task}, timeout=2)
        assert task.done(), "the cancelled client kept running"
