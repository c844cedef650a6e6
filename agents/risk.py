"""The risk agent: signals and fills -> approve / resize / reject -> orders | orders.rejected.

The single writer of its portfolio's risk state. It reads signals and fills from one subscription, in
their log order, applies each message at most once (offsets recorded in the state), and writes the
state once per batch before publishing what it decided. Decisions use event time only.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from agents.dead_letters import send_dead_letter
from agents.risk_rules import (
    RiskLimits,
    RiskState,
    already_applied,
    apply_fill,
    decide,
    equity_usdc,
    exits,
    mark_applied,
    pair_exposure_usdc,
)
from market.tokens import USDC, WSOL
from solbot.errors import DecodeError
from solbot.logs import correlation_of
from streams.app import app, dlq_signals_topic, orders_topic, rejected_topic, settings
from streams.codec import decode, encode
from streams.records import Fill, Order, Rejection, Signal
from streams.topics import FILLS, SIGNALS
from tables.batch_view import BatchView, underlying
from tables.risk import portfolio_to_risk_state
from web import metrics

log = logging.getLogger(__name__)

limits = RiskLimits.from_settings(settings)
risk_inputs_topic = app.topic(
    SIGNALS.name, FILLS.name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
)


def load_state(view: BatchView[RiskState], portfolio: str) -> RiskState:
    return view.get(portfolio) or RiskState.initial(portfolio, limits, WSOL, USDC)


def apply_message(
    state: RiskState, topic: str, partition: int, offset: int, value: bytes | None, now_ms: int
) -> list[Order | Rejection]:
    """Apply one input message to the state; returns the decisions to publish. Raises DecodeError."""
    if already_applied(state, topic, partition, offset):
        return []
    out: list[Order | Rejection] = []
    if topic == FILLS.name:
        apply_fill(state, decode(Fill, value), limits)
    else:
        signal = decode(Signal, value)
        if signal.id not in state.recent_signals:  # a re-emitted signal was decided once already
            out.extend(
                exits(
                    state,
                    signal.pair,
                    signal.price,
                    signal.ts_ms,
                    signal.pools,
                    limits,
                    now_ms,
                    origin_ms=signal.origin_ms,
                )
            )
            out.append(decide(state, signal, limits, now_ms))
    mark_applied(state, topic, partition, offset)
    return out


@app.agent(risk_inputs_topic)
async def decide_risk(stream: Any) -> None:
    """signals + fills -> orders / orders.rejected."""
    async for events in stream.take_events(500, within=settings.batch_within_s):
        view: BatchView[RiskState] = BatchView(
            underlying(portfolio_to_risk_state), load=RiskState.from_dict, dump=RiskState.to_dict
        )
        state = load_state(view, settings.portfolio)
        decisions: list[tuple[Order | Rejection, float]] = []  # with the input's broker time (ms)
        partition = 0
        metrics.EVENTS.labels("decide_risk").inc(len(events))
        for event in events:
            msg = event.message
            partition = msg.partition
            try:
                out = apply_message(
                    state, msg.topic, msg.partition, msg.offset, msg.value, int(time.time() * 1000)
                )
                decisions.extend((d, msg.timestamp * 1000.0) for d in out)
            except DecodeError as exc:
                await send_dead_letter(dlq_signals_topic, event, str(exc), "decide_risk")
                mark_applied(state, msg.topic, msg.partition, msg.offset)
        view.put(settings.portfolio, state, partition)
        view.flush()
        key = settings.portfolio.encode()
        for decision, input_ms in decisions:
            approved = isinstance(decision, Order)
            await (orders_topic if approved else rejected_topic).send(key=key, value=encode(decision))
            metrics.observe_hop("signals_to_orders", input_ms)
            metrics.ORDERS.labels("approved" if approved else "rejected").inc()
            log.info(
                "decision",
                extra={
                    "correlation_id": correlation_of(decision.id),
                    "pair": decision.pair,
                    "order_id": decision.id if approved else None,
                    "reason": decision.reason,
                },
            )
            if approved:
                metrics.DECISION_LATENCY.observe(max(0.0, time.time() - decision.origin_ms / 1000.0))
        report_portfolio(state)


def report_portfolio(state: RiskState) -> None:
    equity = equity_usdc(state)
    metrics.EQUITY.set(equity)
    peak = max(state.peak_equity_usdc, equity)
    metrics.DRAWDOWN.set((peak - equity) / peak if peak > 0 else 0.0)
    for pair in state.positions:
        metrics.EXPOSURE.labels(pair).set(pair_exposure_usdc(state, pair))
