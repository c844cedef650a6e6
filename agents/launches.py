"""The launches agent: Pump.fun CreateEvents -> the launch table (mint, curve, creator, launch time)."""

from __future__ import annotations

from typing import Any

from agents.context import WorkerContext
from core.errors import DecodeError
from streams.codec import decode
from streams.compat.dead_letters import send_dead_letter
from streams.compat.tables import FaustTable
from streams.records import Launch
from streams.validate import check_launch
from tables.batch_view import BatchView


class LaunchesRunner:
    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self._launches = FaustTable(ctx.tables.mint_to_launch, ctx.topics.raw_launches_topic.get_topic_name())

    def register(self) -> None:
        ctx = self.ctx

        async def track_launches(stream: Any) -> None:
            async for events in stream.take_events(500, within=ctx.settings.batch_within_s):
                await self.process(events)

        ctx.app.agent(ctx.topics.raw_launches_topic, name="agents.launches.track_launches")(track_launches)

    async def process(self, events: list[Any]) -> None:
        view: BatchView[dict[str, Any]] = BatchView(self._launches, load=dict, dump=dict)
        for event in events:
            msg = event.message
            try:
                launch = check_launch(decode(Launch, msg.value))
            except DecodeError as exc:
                await send_dead_letter(self.ctx.topics.dlq_raw_topic, event, str(exc), "track_launches")
                continue
            view.put(launch.mint, launch.asdict(), msg.partition)
        view.flush()
