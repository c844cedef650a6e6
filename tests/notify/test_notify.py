"""Notifications against local servers that speak a JSON webhook and Telegram's Bot API `sendMessage`.

The Telegram-shaped server answers as https://core.telegram.org/bots/api describes (read 2026-12-04):
`{"ok": true, "result": Message}`, or `{"ok": false, "error_code", "description", "parameters"}` with
`retry_after` on 429; the token is the path segment after `/bot`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from core import metrics
from core.errors import ConfigError
from core.settings import load_settings
from notify.notices import Notice, Telegram, Webhook, alert_notice, fill_notice, wanted
from notify.sender import Notifier, Policy
from streams.records import Fill

TOKEN = "123456:AAF-very-secret-token-value"


@dataclass
class Script:
    """What the local server answers: statuses to give first (then 200), and what it received."""

    statuses: list[int] = field(default_factory=list)
    retry_after: int | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    delay_s: float = 0.0


def telegram_app(script: Script) -> web.Application:
    async def send_message(request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        body = await request.json()
        script.times.append(time.monotonic())
        if script.statuses:
            status = script.statuses.pop(0)
            answer: dict[str, Any] = {"ok": False, "error_code": status, "description": f"status {status}"}
            if status == 429:
                answer["description"] = f"Too Many Requests: retry after {script.retry_after}"
                answer["parameters"] = {"retry_after": script.retry_after}
            return web.json_response(answer, status=status)
        if not str(body.get("text", "")).strip() or "chat_id" not in body:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"},
                status=400,
            )
        script.received.append(body)
        message = {"message_id": len(script.received), "date": int(time.time()), "text": body["text"]}
        message["chat"] = {"id": body["chat_id"], "type": "private"}
        return web.json_response({"ok": True, "result": message})

    app = web.Application()
    app.router.add_post("/bot{token}/sendMessage", send_message)
    return app


def webhook_app(script: Script) -> web.Application:
    async def hook(request: web.Request) -> web.Response:
        script.times.append(time.monotonic())
        if script.delay_s:
            await asyncio.sleep(script.delay_s)
        if script.statuses:
            status = script.statuses.pop(0)
            headers = {"Retry-After": str(script.retry_after)} if script.retry_after is not None else {}
            return web.Response(status=status, text=f"status {status}", headers=headers)
        script.received.append(await request.json())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks/{secret}", hook)
    return app


@pytest.fixture
async def telegram() -> AsyncIterator[tuple[Script, str]]:
    script = Script()
    server = TestServer(telegram_app(script), host="127.0.0.1")
    await server.start_server()
    yield script, str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
async def webhook() -> AsyncIterator[tuple[Script, str]]:
    script = Script()
    server = TestServer(webhook_app(script), host="127.0.0.1")
    await server.start_server()
    yield script, str(server.make_url("/hooks/s3cr3t-path"))
    await server.close()


class Sleeps:
    """Records the sender's waits and waits almost nothing, so retry tests run in milliseconds."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def a_fill(status: str = "filled") -> Fill:
    return Fill(
        id="fill:ord:1", order_id="ord:1", pair="SOL/USDC", side="buy", status=status,
        reason="" if status == "filled" else "slippage", venue="paper", pool="pool1",
        base_amount=1_500_000_000, quote_amount=225_560_000, fee_quote=560_000, price=150.0,
        base_decimals=9, quote_decimals=6, signature="sig", ts_ms=1_700_000_000_000,
        origin_ms=1_700_000_000_000, filled_ms=1_700_000_000_010,
    )  # fmt: skip


HALT = {
    "id": "1-a",
    "ts_ms": 1_700_000_000_000,
    "level": "critical",
    "code": "risk.halt.manual",
    "message": "x",
}


def client_logs(caplog: pytest.LogCaptureFixture) -> str:
    """What solbot logged (the local test server's access log is the server's, not ours)."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("aiohttp.access"))


async def until(predicate: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_fill_and_a_halt_reach_telegram_as_send_message_calls(telegram: tuple[Script, str]) -> None:
    script, api = telegram
    notifier = Notifier([Telegram(api, SecretStr(TOKEN), "-1001")], Policy(rate_per_min=600))
    assert notifier.fill(a_fill()) and notifier.alert(HALT)
    await until(lambda: len(script.received) == 2)
    await notifier.close()
    halt, fill = script.received  # the halt is urgent: it goes first
    assert halt == {"chat_id": "-1001", "text": "HALT: risk.halt.manual\nx"}
    assert fill["chat_id"] == "-1001" and fill["disable_notification"] is True
    assert fill["text"].startswith("BUY 1.5 SOL @ 150 USDC\n225.56 USDC incl. fee 0.56")
    assert notifier.counts()["telegram"] == {"sent": 2, "failed": 0, "dropped": 0, "queued": 0}


async def test_the_webhook_gets_one_json_object_per_notice(webhook: tuple[Script, str]) -> None:
    script, url = webhook
    notifier = Notifier([Webhook(SecretStr(url))], Policy(rate_per_min=600))
    notifier.fill(a_fill("failed"))
    await until(lambda: len(script.received) == 1)
    await notifier.close()
    body = script.received[0]
    assert body["source"] == "solbot" and body["kind"] == "fills" and body["level"] == "warning"
    assert body["title"] == "BUY SOL/USDC failed: slippage" and body["ts_ms"] == 1_700_000_000_000
    assert body["data"]["order_id"] == "ord:1" and body["data"]["status"] == "failed"


async def test_5xx_is_retried_with_backoff_and_429_waits_what_telegram_says(
    telegram: tuple[Script, str],
) -> None:
    script, api = telegram
    script.statuses = [502, 500, 429]
    script.retry_after = 7
    sleeps = Sleeps()
    policy = Policy(rate_per_min=600, backoff_initial_s=1.0, max_attempts=5)
    notifier = Notifier([Telegram(api, SecretStr(TOKEN), "42")], policy, sleep=sleeps)
    notifier.alert(HALT)
    await until(lambda: len(script.received) == 1)
    await notifier.close()
    backoffs = [w for w in sleeps.waits if w >= 0.4]  # the rate limit's own waits are shorter
    assert 0.5 <= backoffs[0] <= 1.0 and 1.0 <= backoffs[1] <= 2.0  # exponential, jittered
    assert backoffs[2] == 7.0  # parameters.retry_after
    assert notifier.counts()["telegram"]["sent"] == 1


async def test_webhook_429_honours_retry_after_and_gives_up_after_max_attempts(
    webhook: tuple[Script, str], caplog: pytest.LogCaptureFixture
) -> None:
    script, url = webhook
    script.statuses = [429, 503, 503, 503]
    script.retry_after = 3
    sleeps = Sleeps()
    failed_before = metrics.NOTIFICATIONS.labels("webhook", "failed")._value.get()
    notifier = Notifier([Webhook(SecretStr(url))], Policy(rate_per_min=600, max_attempts=3), sleep=sleeps)
    notifier.alert(HALT)
    await until(lambda: notifier.counts()["webhook"]["failed"] == 1)
    await notifier.close()
    assert 3.0 in sleeps.waits and len(script.times) == 3 and script.received == []
    assert metrics.NOTIFICATIONS.labels("webhook", "failed")._value.get() == failed_before + 1
    assert "s3cr3t-path" not in client_logs(caplog) and "given up after 3 tries" in caplog.text


async def test_the_token_is_never_logged_whatever_fails(
    telegram: tuple[Script, str], caplog: pytest.LogCaptureFixture
) -> None:
    _, api = telegram
    caplog.set_level(logging.DEBUG)
    wrong = Notifier([Telegram(api, SecretStr(TOKEN + "x"), "1")], Policy(rate_per_min=600), sleep=Sleeps())
    wrong.alert(HALT)  # 401: given up at once, no retry
    await until(lambda: wrong.counts()["telegram"]["failed"] == 1)
    await wrong.close()
    assert "Unauthorized" in caplog.text
    closed_port = api.rsplit(":", 1)[0] + ":1"  # nothing listens: connection refused, retried, given up
    refused = Notifier(
        [Telegram(closed_port, SecretStr(TOKEN), "1")],
        Policy(rate_per_min=600, max_attempts=2),
        sleep=Sleeps(),
    )
    refused.alert(HALT)
    await until(lambda: refused.counts()["telegram"]["failed"] == 1)
    await refused.close()
    assert "given up after 2 tries" in caplog.text
    assert TOKEN not in client_logs(caplog) and "very-secret" not in client_logs(caplog)


async def test_submit_never_blocks_and_a_full_queue_drops_ordinary_notices_first(
    webhook: tuple[Script, str],
) -> None:
    script, url = webhook
    script.delay_s = 2.0  # a slow destination
    notifier = Notifier([Webhook(SecretStr(url))], Policy(rate_per_min=600, queue_size=5, timeout_s=5.0))
    started = time.perf_counter()
    for _ in range(50):
        notifier.fill(a_fill())
    notifier.alert(HALT)
    assert time.perf_counter() - started < 0.05  # 51 submits while the destination answers in 2 s
    counts = notifier.counts()["webhook"]
    assert counts["queued"] == 5 and counts["dropped"] == 46
    box = notifier.outboxes[0]
    assert [n.kind for n in box.urgent] == ["halts"]  # the halt displaced a fill
    await notifier.close()


async def test_the_rate_limit_spaces_messages(telegram: tuple[Script, str]) -> None:
    script, api = telegram
    notifier = Notifier([Telegram(api, SecretStr(TOKEN), "1")], Policy(rate_per_min=600))  # one per 0.1 s
    for _ in range(4):
        notifier.alert(HALT)
    await until(lambda: len(script.received) == 4)
    await notifier.close()
    gaps = [b - a for a, b in zip(script.times, script.times[1:], strict=False)]
    assert min(gaps) >= 0.09, gaps


def test_what_is_sent_follows_the_settings() -> None:
    info = alert_notice({"level": "info", "code": "rebalance.done", "message": "m", "ts_ms": 1})
    error = alert_notice({"level": "error", "code": "x", "message": "m", "ts_ms": 1})
    halt = alert_notice(HALT)
    assert halt.kind == "halts" and halt.urgent and error.urgent and not info.urgent
    assert not wanted(info, ("fills", "halts", "alerts"), "warning") and wanted(error, ("alerts",), "warning")
    assert not wanted(fill_notice(a_fill()), ("halts", "alerts"), "info")
    assert wanted(halt, ("halts",), "critical")
    long = Notice(kind="alerts", level="error", title="t", text="x" * 5000)
    assert len(Telegram("http://h", SecretStr(TOKEN), "1").request(long).body["text"]) == 4096


def test_settings_build_the_destinations_and_keep_the_secrets_out_of_errors() -> None:
    assert Notifier.from_settings(load_settings()) is None  # nothing configured: off
    settings = load_settings(
        notify_webhook_url="https://hooks.example/abc/SECRET",
        notify_telegram_token=TOKEN,
        notify_telegram_chat_id="@ops",
        notify_events="halts,alerts",
    )
    notifier = Notifier.from_settings(settings)
    assert notifier is not None and notifier.policy.kinds == ("halts", "alerts")
    described = [box.destination.describe() for box in notifier.outboxes]
    assert described == ["webhook at https://hooks.example", "telegram chat @ops"]
    assert TOKEN not in repr(settings) and "SECRET" not in repr(settings)
    with pytest.raises(ConfigError) as exc:
        load_settings(notify_webhook_url="ftp://user:SECRET@host/")
    assert "SECRET" not in str(exc.value) and "NOTIFY_WEBHOOK_URL" in str(exc.value)
    with pytest.raises(ConfigError, match="set together"):
        load_settings(notify_telegram_token=TOKEN)
    with pytest.raises(ConfigError, match="NOTIFY_EVENTS"):
        load_settings(notify_events="fills,trades")
