"""The model agent: feature snapshots -> an online River model per pair -> signals.

Predict, then learn when the label arrives: each snapshot is scored by the pair's model, and the
realised return at the horizon is learned once a later snapshot reaches it (event time). Models live
in the process that owns the pair's partition; signal ids derive from snapshot ids, so a re-delivered
snapshot yields the same signal id and the risk agent decides it once.
"""

from __future__ import annotations

import logging
from typing import Any

from agents.dead_letters import send_dead_letter
from models.online import DelayedLabeler, OnlineModel
from models.strategy import MLSignalStrategy, Strategy
from solbot.errors import DecodeError
from streams.app import app, dlq_features_topic, features_topic, settings, signals_topic
from streams.codec import decode, encode
from streams.records import FeatureSnapshot, Signal
from web import metrics

log = logging.getLogger(__name__)

MODEL_NAME = "river:scaler|logreg+linreg"


class SignalModels:
    """The model step as an object: one `DelayedLabeler` per pair plus the strategy that reads them.

    The agent uses one module-level instance; a backtest builds its own, so runs never share models.
    """

    def __init__(
        self,
        *,
        strategy: Strategy | None = None,
        warmup_labels: int = settings.model_warmup_labels,
        label_horizon_ms: int = settings.label_horizon_ms,
    ) -> None:
        self.strategy: Strategy = strategy or MLSignalStrategy(
            min_confidence=settings.min_confidence, cost_bps=settings.strategy_cost_bps
        )
        self.warmup_labels = warmup_labels
        self.label_horizon_ms = label_horizon_ms
        self.by_pair: dict[str, DelayedLabeler] = {}

    def model_for(self, pair: str) -> DelayedLabeler:
        labeler = self.by_pair.get(pair)
        if labeler is None:
            labeler = DelayedLabeler(
                OnlineModel(warmup=self.warmup_labels), label_horizon_ms=self.label_horizon_ms
            )
            self.by_pair[pair] = labeler
        return labeler

    def signal_for(self, snapshot: FeatureSnapshot) -> Signal | None:
        """Score one snapshot (and learn whatever labels it resolves); a Signal if the strategy acts."""
        prediction = self.model_for(snapshot.pair).on_snapshot(
            snapshot.ts_ms, snapshot.price, snapshot.features
        )
        intent = self.strategy.on_features(
            snapshot.pair, snapshot.ts_ms, snapshot.price, snapshot.features, prediction
        )
        if intent is None:
            return None
        return Signal(
            id=f"sig:{snapshot.id}",
            pair=snapshot.pair,
            ts_ms=snapshot.ts_ms,
            origin_ms=snapshot.origin_ms,
            price=snapshot.price,
            direction=intent.direction,
            confidence=intent.confidence,
            expected_return=intent.expected_return,
            horizon_ms=self.label_horizon_ms,
            volatility=float(snapshot.features.get("vol_10s", 0.0)),
            model=MODEL_NAME,
            strategy=intent.strategy,
            pools=snapshot.pools,
        )


# This worker's models; the status view reads `models_by_pair` (the same dict, pair -> labeler).
signal_models = SignalModels()
models_by_pair: dict[str, DelayedLabeler] = signal_models.by_pair
_applied: dict[int, int] = {}  # features partition -> last offset seen by this process


def model_for(pair: str) -> DelayedLabeler:
    return signal_models.model_for(pair)


def signal_for(snapshot: FeatureSnapshot) -> Signal | None:
    """The agent's model step (its module-level `SignalModels`)."""
    return signal_models.signal_for(snapshot)


@app.agent(features_topic)
async def predict_signals(stream: Any) -> None:
    """features -> signals (keyed by portfolio: one risk agent decides them in order)."""
    key = settings.portfolio.encode()
    async for events in stream.take_events(500, within=settings.batch_within_s):
        metrics.EVENTS.labels("predict_signals").inc(len(events))
        for event in events:
            msg = event.message
            if msg.offset <= _applied.get(msg.partition, -1):
                continue
            _applied[msg.partition] = msg.offset
            try:
                snapshot = decode(FeatureSnapshot, msg.value)
            except DecodeError as exc:
                await send_dead_letter(dlq_features_topic, event, str(exc), "predict_signals")
                continue
            signal = signal_for(snapshot)
            if signal is not None:
                await signals_topic.send(key=key, value=encode(signal))
                metrics.observe_hop("features_to_signals", msg.timestamp * 1000.0)
                log.info(
                    "signal",
                    extra={
                        "correlation_id": snapshot.id,
                        "pair": signal.pair,
                        "topic": msg.topic,
                        "partition": msg.partition,
                        "offset": msg.offset,
                        "direction": signal.direction,
                    },
                )
