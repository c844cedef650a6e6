"""The launches agent: Pump.fun CreateEvents -> the launch table (mint, curve, creator, launch time)."""

from __future__ import annotations

from typing import Any

from agents.dead_letters import send_dead_letter
from core.errors import DecodeError
from streams.app import app, dlq_raw_topic, raw_launches_topic, settings
from streams.codec import decode
from streams.records import Launch
from tables.batch_view import BatchView, underlying
from tables.features import mint_to_launch


def check_launch(launch: Launch) -> Launch:
    if launch.virtual_base_reserve <= 0 or launch.virtual_quote_reserve <= 0:
        raise DecodeError("virtual reserves: must be positive")
    if not launch.mint or not launch.bonding_curve:
        raise DecodeError("mint, bonding_curve: must be set")
    return launch


@app.agent(raw_launches_topic)
async def track_launches(stream: Any) -> None:
    async for events in stream.take_events(500, within=settings.batch_within_s):
        view: BatchView[dict[str, Any]] = BatchView(underlying(mint_to_launch), load=dict, dump=dict)
        for event in events:
            msg = event.message
            try:
                launch = check_launch(decode(Launch, msg.value))
            except DecodeError as exc:
                await send_dead_letter(dlq_raw_topic, event, str(exc), "track_launches")
                continue
            view.put(launch.mint, launch.asdict(), msg.partition)
        view.flush()
