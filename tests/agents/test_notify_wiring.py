"""Where fills, halts and alerts are produced, the worker's notifier hears of them (without waiting)."""

from __future__ import annotations

from typing import Any

from agent_fakes import context, events

from agents.context import Connections
from core.settings import load_settings
from market.tokens import USDC, WSOL
from store.alerts import raise_alert
from streams.codec import encode
from streams.records import Fill, Order, PoolState


class FakeNotifier:
    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []
        self.fills: list[Fill] = []

    def alert(self, alert: dict[str, Any]) -> bool:
        self.alerts.append(alert)
        return True

    def fill(self, fill: Fill) -> bool:
        self.fills.append(fill)
        return True


class FakePipeline:
    def __init__(self, stored: list[str]) -> None:
        self.stored = stored

    def lpush(self, key: str, value: str) -> None:
        self.stored.insert(0, value)

    def ltrim(self, key: str, start: int, end: int) -> None:
        return None

    async def execute(self) -> list[Any]:
        return []


class FakeRedis:
    def __init__(self) -> None:
        self.stored: list[str] = []

    def pipeline(self, transaction: bool = True) -> FakePipeline:
        return FakePipeline(self.stored)


async def test_raise_alert_hands_the_stored_alert_to_its_hook() -> None:
    redis, heard = FakeRedis(), FakeNotifier()
    alert = await raise_alert(redis, "critical", "risk.halt.drawdown", "down 12 %", on_raised=heard.alert)  # type: ignore[arg-type]
    assert heard.alerts == [alert] and len(redis.stored) == 1
    assert alert["code"] == "risk.halt.drawdown" and alert["level"] == "critical"


async def test_without_redis_the_notifier_still_hears_the_alerts() -> None:
    heard = FakeNotifier()
    connections = Connections(None, None, notifier=heard)  # type: ignore[arg-type]
    await connections.alert([("critical", "risk.halt.manual", "operator")], "risk")
    assert [(a["level"], a["code"], a["message"]) for a in heard.alerts] == [
        ("critical", "risk.halt.manual", "operator")
    ]


def an_order() -> Order:
    pool = PoolState(
        venue="raydium", pool="p1", base_mint=WSOL, quote_mint=USDC, base_decimals=9, quote_decimals=6,
        base_reserve=10**12, quote_reserve=150 * 10**9, fee_bps=25,
    )  # fmt: skip
    return Order(
        id="ord:1", signal_id="sig:1", pair="SOL/USDC", side="buy", amount_in=100_000_000, min_amount_out=1,
        venue="raydium", pool="p1", pool_state=pool, kind="entry", reason="test", ts_ms=1, origin_ms=1,
        decided_ms=1,
    )  # fmt: skip


async def test_the_execution_runner_hands_every_fill_to_the_notifier() -> None:
    from agents.execution import ExecutionRunner

    ctx = context(load_settings(database_url=None, redis_url=None))
    heard = FakeNotifier()
    ctx.connections.notifier = heard  # type: ignore[attr-defined]
    runner = ExecutionRunner(ctx)
    order = an_order()
    fill = Fill(
        id="fill:ord:1", order_id="ord:1", pair="SOL/USDC", side="buy", status="filled", reason="",
        venue="paper", pool="p1", base_amount=600_000_000, quote_amount=100_000_000, fee_quote=250_000,
        price=166.0, base_decimals=9, quote_decimals=6, signature="s", ts_ms=1, origin_ms=1, filled_ms=2,
    )  # fmt: skip

    async def apply(
        sink: Any, partition: int, batch: list[tuple[int, Order]], now_ms: int, epochs: dict[str, int]
    ) -> list[Fill]:
        assert [o.id for _, o in batch] == ["ord:1"]
        return [fill]

    async def publish(sink: Any) -> int:
        return 1

    runner._apply = apply  # type: ignore[method-assign]
    runner.publish_fills = publish  # type: ignore[method-assign]
    await runner.process(None, events("orders", 0, [(b"main", encode(order))]))  # type: ignore[arg-type]
    assert heard.fills == [fill]
