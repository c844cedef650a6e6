"""A worker on the real embedded stack tells a local webhook and a local Telegram-shaped Bot API about its
fills and about a halt, and never writes the token into its log."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from core.settings import Settings
from services.stack import Stack
from solbot.commands.control import control_record, publish
from tests.integration.harness import running_pipeline, until

pytestmark = pytest.mark.integration

TOKEN = "987654:live-test-token-never-logged"


@pytest.fixture
async def receivers() -> AsyncIterator[tuple[dict[str, list[dict[str, Any]]], str, str]]:
    got: dict[str, list[dict[str, Any]]] = {"webhook": [], "telegram": []}

    async def hook(request: web.Request) -> web.Response:
        got["webhook"].append(await request.json())
        return web.Response(status=204)

    async def send_message(request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        body = await request.json()
        got["telegram"].append(body)
        message = {"message_id": len(got["telegram"]), "date": int(time.time()), "text": body["text"]}
        return web.json_response({"ok": True, "result": message | {"chat": {"id": 1, "type": "private"}}})

    app = web.Application()
    app.router.add_post("/hooks/{secret}", hook)
    app.router.add_post("/bot{token}/sendMessage", send_message)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    yield got, f"{base}/hooks/abc", base
    await server.close()


@pytest.mark.slow  # `make test-slow` (CI runs it): keeps `make test` within its 15 minutes
async def test_fills_and_a_halt_reach_the_webhook_and_telegram(
    fresh_stack: Stack,
    fresh_settings: Settings,
    receivers: tuple[dict[str, list[dict[str, Any]]], str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    got, hook_url, api_url = receivers
    for name, value in {
        "NOTIFY_WEBHOOK_URL": hook_url,
        "NOTIFY_TELEGRAM_TOKEN": TOKEN,
        "NOTIFY_TELEGRAM_CHAT_ID": "4242",
        "NOTIFY_TELEGRAM_API_URL": api_url,
        "NOTIFY_RATE_PER_MIN": "600",
    }.items():
        monkeypatch.setenv(name, value)  # the worker reads its settings from the environment it inherits
    async with running_pipeline(fresh_settings, fresh_stack, seed=7, rate_eps=400, duration_s=90) as p:
        fills = lambda kind: [b for b in got["webhook"] if b["kind"] == kind]  # noqa: E731
        assert await until(lambda: bool(fills("fills")), 90), "no fill notified"
        await publish(p.bootstrap, fresh_settings.portfolio, control_record("halt", "notify test", False), 4)
        assert await until(lambda: bool(fills("halts")), 30), "the halt was not notified"
        assert await until(lambda: any(m["text"].startswith("HALT") for m in got["telegram"]), 30)
        log_path = p.worker.log_path
    fill = fills("fills")[0]
    assert fill["source"] == "solbot" and fill["data"]["status"] in ("filled", "failed")
    halt = fills("halts")[0]
    assert halt["level"] == "critical" and halt["data"]["code"] == "risk.halt.manual"
    assert "notify test" in halt["text"]
    assert all(m["chat_id"] == "4242" for m in got["telegram"])
    await asyncio.sleep(0)
    assert TOKEN not in log_path.read_text() and "hooks/abc" not in log_path.read_text()
