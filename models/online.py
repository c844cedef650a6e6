"""Online learners with delayed labels, scored by progressive validation against a naive baseline.

A snapshot's label is the log return over the next `label_horizon_ms` of *event* time, so it is only known
once a later snapshot arrives. `DelayedLabeler` keeps the pending predictions, resolves them as event time
advances, learns from them (test-then-train: each label is scored with the prediction made *before* the
model saw it) and keeps the same scores for a baseline, so the model has to earn its keep. Nothing reads
the wall clock and nothing draws random numbers: replaying the same snapshots gives the same predictions.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from river import linear_model, metrics, optim, preprocessing, tree

from features.market_signals import GROUPS
from models.drift import DriftEvent, DriftMonitor

ModelKind = Literal["linear", "tree"]

Features = dict[str, float]

# The direction model's inputs among a snapshot's features. Every one of them (30-odd) made the linear model
# worse than momentum out of sample: with a few hundred labels per pair and span, SGD spreads its small
# steps over many noisy weights. These six were chosen on seeds 1-4 (`python -m models.evaluate --seeds
# 1-4 --minutes 6 --rate 200 --spans 3`, against subsets of the order flow, return and VWAP features), then
# scored on seeds 11-16, never looked at before: docs/trading-quality.md, "Fewer inputs". The market-data
# features (Jupiter quotes, Drift books) stay in: absent unless collected, they cost nothing then.
SWAP_FEATURES: tuple[str, ...] = (
    "ofi_10s",
    "ofi_60s",
    "ret_5s",
    "ret_10s",
    "vwap_dist_10s",
    "buy_sell_ratio_60s",
)
DIRECTION_FEATURES: frozenset[str] = frozenset(SWAP_FEATURES).union(*GROUPS.values())


@dataclass(frozen=True)
class Prediction:
    """The model's view of one snapshot.

    `p_up` is the probability that the forward log return is strictly positive (a flat price counts as
    "not up"); `expected_return` is the log return over the horizon. A prediction that is not `ready` comes
    from a model that has not yet learned from `warmup` labels and must not be traded.
    """

    p_up: float
    expected_return: float
    ready: bool


def clean_features(x: dict[str, float], keep: frozenset[str] | None = None) -> Features:
    """Return a copy of `x` without non-finite or non-numeric values (and, with `keep`, only those keys).

    River's linear models read a missing key as 0, which after the scaler is the running mean: dropping a
    NaN therefore imputes the mean instead of poisoning the scaler's variance and the weights forever.
    """
    if keep is not None:
        x = {k: v for k, v in x.items() if k in keep}
    try:
        # v - v is 0 for every finite number and NaN for NaN and ±inf; this is the hot path.
        return {k: v for k, v in x.items() if v - v == 0.0}
    except TypeError:
        out: Features = {}
        for k, v in x.items():
            if isinstance(v, int | float) and math.isfinite(v):
                out[k] = float(v)
        return out


class OnlineModel:
    """Direction classifier plus return regressor for one pair (or pair group).

    `kind="linear"` (default): logistic + linear regression, described below. `kind="tree"`: River's
    `HoeffdingAdaptiveTreeClassifier` for direction and `HoeffdingAdaptiveTreeRegressor` for the return
    (both adapt to drift by swapping in alternate subtrees; seeded, so deterministic), on the same scaled
    features; they can fit interactions and thresholds a linear model cannot, at several times the cost.
    A tree's leaf frequencies are overconfident (a pure leaf says 0 or 1, and log loss punishes a wrong
    certainty without bound), so its p_up is shrunk towards 0.5 by `tree_shrink`: 0.4 turned the tree's
    progressive log loss on the simulator (seed 1, 10 min) from 6-11 % worse than the baseline at 0.8 to
    8-17 % better; one seed's tuning, to be re-checked on live data.

    Both are `StandardScaler() | <linear model>` pipelines, but the two scalers would see the same
    features and hold identical statistics, so one scaler feeds both models: same maths, half the cost.
    The regressor predicts a standardised target (River's `TargetStandardScaler`): raw log returns are
    ~1e-3, far too small for SGD to fit in a reasonable number of steps. Its learning rate is separate
    and smaller than the classifier's: on a synthetic stream with a planted signal the squared loss tracked
    noise at 0.01 (forecast/label correlation 0.48 vs 0.57 at 0.002). Its output is clipped to
    ±`clip_multiple` * the recent mean |return| so that one extreme feature value cannot produce an absurd
    expected return.
    """

    def __init__(
        self,
        warmup: int = 200,
        lr: float = 0.01,
        regression_lr: float = 0.002,
        l2: float = 1e-4,
        clip_multiple: float = 5.0,
        abs_return_halflife: int = 500,
        kind: ModelKind = "linear",
        tree_grace_period: int = 100,
        tree_shrink: float = 0.4,
        seed: int = 0,
        features: frozenset[str] | None = None,
    ) -> None:
        if kind not in ("linear", "tree"):
            raise ValueError(f"kind must be 'linear' or 'tree', got {kind!r}")
        if tree_grace_period < 1:
            raise ValueError("tree_grace_period must be >= 1")
        if not 0.0 < tree_shrink <= 1.0:
            raise ValueError("tree_shrink must be in (0, 1]")
        if warmup < 0:
            raise ValueError("warmup must be >= 0")
        if lr <= 0 or regression_lr <= 0:
            raise ValueError("learning rates must be > 0")
        if l2 < 0:
            raise ValueError("l2 must be >= 0")
        if clip_multiple <= 0:
            raise ValueError("clip_multiple must be > 0")
        if abs_return_halflife < 1:
            raise ValueError("abs_return_halflife must be >= 1")
        self.warmup = warmup
        self.lr = lr
        self.regression_lr = regression_lr
        self.l2 = l2
        self.clip_multiple = clip_multiple
        self.abs_return_halflife = abs_return_halflife
        self.kind: ModelKind = kind
        self.tree_grace_period = tree_grace_period
        self.tree_shrink = tree_shrink
        self.seed = seed
        self.features = features
        self.scaler = preprocessing.StandardScaler()
        self.classifier: Any
        self.regressor: Any
        if kind == "linear":
            self.classifier = linear_model.LogisticRegression(optimizer=optim.SGD(lr), l2=l2)
            self.regressor = preprocessing.TargetStandardScaler(
                linear_model.LinearRegression(optimizer=optim.SGD(regression_lr), l2=l2)
            )
        else:
            self.classifier = tree.HoeffdingAdaptiveTreeClassifier(grace_period=tree_grace_period, seed=seed)
            self.regressor = preprocessing.TargetStandardScaler(
                tree.HoeffdingAdaptiveTreeRegressor(grace_period=tree_grace_period, seed=seed)
            )
        self.n_learned = 0
        self.n_skipped = 0  # learn_one calls refused because y was not finite
        self._decay = 0.5 ** (1.0 / abs_return_halflife)
        self._abs_return_sum = 0.0  # exponentially weighted; divided by the weight it is the recent mean
        self._abs_return_weight = 0.0

    @property
    def ready(self) -> bool:
        return self.n_learned >= self.warmup

    def fresh(self) -> OnlineModel:
        """A new, untrained model with the same hyperparameters (what a drift reset starts from)."""
        return OnlineModel(
            warmup=self.warmup,
            lr=self.lr,
            regression_lr=self.regression_lr,
            l2=self.l2,
            clip_multiple=self.clip_multiple,
            abs_return_halflife=self.abs_return_halflife,
            kind=self.kind,
            tree_grace_period=self.tree_grace_period,
            tree_shrink=self.tree_shrink,
            seed=self.seed,
            features=self.features,
        )

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Checkpointed before `features` existed: those were the bot's direction models, so they read its
        # inputs from now on (their other weights are left unused).
        state.setdefault("features", DIRECTION_FEATURES)
        self.__dict__.update(state)

    @property
    def recent_abs_return(self) -> float:
        """Exponentially weighted mean |label|, the scale used to clip the expected return."""
        if self._abs_return_weight == 0.0:
            return 0.0
        return self._abs_return_sum / self._abs_return_weight

    def predict_one(self, x: dict[str, float]) -> Prediction:
        return self._predict_clean(clean_features(x, self.features))

    def learn_one(self, x: dict[str, float], y: float) -> None:
        self._learn_clean(clean_features(x, self.features), y)

    def _predict_clean(self, x: Features) -> Prediction:
        if self.n_learned == 0:
            return Prediction(p_up=0.5, expected_return=0.0, ready=self.ready)
        z = self.scaler.transform_one(x)
        p_up = float(self.classifier.predict_proba_one(z).get(True, 0.5))
        p_up = min(max(p_up, 0.0), 1.0) if math.isfinite(p_up) else 0.5
        if self.kind == "tree":
            p_up = 0.5 + (p_up - 0.5) * self.tree_shrink
        er = float(self.regressor.predict_one(z))
        bound = self.clip_multiple * self.recent_abs_return
        er = min(max(er, -bound), bound) if math.isfinite(er) else 0.0
        return Prediction(p_up=p_up, expected_return=er, ready=self.ready)

    def _learn_clean(self, x: Features, y: float) -> None:
        if not math.isfinite(y):
            self.n_skipped += 1
            return
        # Same order as a River pipeline's learn_one: update the scaler, then learn on the scaled x.
        self.scaler.learn_one(x)
        z = self.scaler.transform_one(x)
        self.classifier.learn_one(z, y > 0.0)
        self.regressor.learn_one(z, y)
        self._abs_return_sum = self._abs_return_sum * self._decay + abs(y)
        self._abs_return_weight = self._abs_return_weight * self._decay + 1.0
        self.n_learned += 1


@dataclass(frozen=True)
class _Pending:
    ts_ms: int
    price: float
    x: Features
    prediction: Prediction
    baseline_p_up: float


class DelayedLabeler:
    """An `OnlineModel` fed with labels that arrive `label_horizon_ms` of event time after the snapshot.

    Label of the snapshot at t: log(price_now / price_t), taken at the first snapshot with ts >= t + h.
    When there is a gap in the stream the first price after t + h may be much later; a label older than
    `max_label_delay_ms` past its horizon measures a different horizon, so it is dropped (counted as
    expired) rather than learned.

    Baseline, scored on the same labels: p_up = Laplace-smoothed frequency of up labels known when the
    prediction was made ((ups + 1) / (n + 2), so 0.5 at the start and never 0 or 1, which would make log
    loss infinite); expected_return = 0, the random-walk forecast (under MAE the best constant is the
    median, which for returns is ~0, whereas a running mean only adds noise).

    Metrics count only labels whose prediction was `ready`, so neither side is scored on the warm-up.

    With a `drift` monitor, the absolute error |1[up] - p_up| of every ready prediction feeds its ADWIN; on a
    detection the monitor's action runs: `reset` replaces the model with `model.fresh()`, `fallback` serves
    the baseline (not ready, so not traded) for `drift.fallback_labels` labels, `alert` only reports.
    """

    def __init__(
        self,
        model: OnlineModel | None = None,
        label_horizon_ms: int = 10_000,
        max_pending: int = 10_000,
        max_label_delay_ms: int | None = None,
        drift: DriftMonitor | None = None,
    ) -> None:
        if label_horizon_ms <= 0:
            raise ValueError("label_horizon_ms must be > 0")
        if max_pending < 1:
            raise ValueError("max_pending must be >= 1")
        self.model = model if model is not None else OnlineModel()
        self.label_horizon_ms = label_horizon_ms
        self.max_pending = max_pending
        self.max_label_delay_ms = label_horizon_ms if max_label_delay_ms is None else max_label_delay_ms
        self._pending: deque[_Pending] = deque()
        self.last_ts_ms: int | None = None
        self.n_dropped = 0  # pending predictions pushed out by max_pending before their label arrived
        self.n_expired = 0  # labels that arrived too late (see max_label_delay_ms)
        self.n_out_of_order = 0  # snapshots older than the newest one seen: predicted, never labelled
        self.n_bad_price = 0  # snapshots whose price was not finite and positive
        self._ups = 0
        self._labels = 0
        self._scored = 0
        self._accuracy = metrics.Accuracy()
        self._log_loss = metrics.LogLoss()
        self._mae = metrics.MAE()
        self._base_accuracy = metrics.Accuracy()
        self._base_log_loss = metrics.LogLoss()
        self._base_mae = metrics.MAE()
        self.drift = drift
        self.drift_events: deque[DriftEvent] = deque(maxlen=20)  # the latest detections, for the status view
        self._fallback_until_label = 0  # serve the baseline until this many labels have been learned

    @property
    def fallback_active(self) -> bool:
        return self._labels < self._fallback_until_label

    @property
    def pending(self) -> int:
        return len(self._pending)

    def on_snapshot(self, ts_ms: int, price: float, x: dict[str, float]) -> Prediction:
        """Learn every label that `ts_ms` resolves, then predict on `x` and queue it for its own label."""
        price_ok = math.isfinite(price) and price > 0.0
        if not price_ok:
            self.n_bad_price += 1
        if self.last_ts_ms is not None and ts_ms < self.last_ts_ms:
            # Labels assume time moves forward; a late snapshot is still predicted on but never learned.
            self.n_out_of_order += 1
            return self.model.predict_one(x)
        self.last_ts_ms = ts_ms
        if price_ok:
            self._resolve(ts_ms, price)
        xc = clean_features(x, self.model.features)
        baseline_p_up = (self._ups + 1) / (self._labels + 2)
        if self.fallback_active:
            prediction = Prediction(p_up=baseline_p_up, expected_return=0.0, ready=False)
        else:
            prediction = self.model._predict_clean(xc)
        if price_ok:
            self._pending.append(_Pending(ts_ms, price, xc, prediction, baseline_p_up))
            while len(self._pending) > self.max_pending:
                self._pending.popleft()
                self.n_dropped += 1
        return prediction

    def _resolve(self, ts_ms: int, price: float) -> None:
        horizon = self.label_horizon_ms
        while self._pending and self._pending[0].ts_ms + horizon <= ts_ms:
            entry = self._pending.popleft()
            if ts_ms - (entry.ts_ms + horizon) > self.max_label_delay_ms:
                self.n_expired += 1
                continue
            y = math.log(price / entry.price)
            up = y > 0.0
            if entry.prediction.ready:
                pred = entry.prediction
                self._accuracy.update(up, pred.p_up > 0.5)
                self._log_loss.update(up, pred.p_up)
                self._mae.update(y, pred.expected_return)
                self._base_accuracy.update(up, entry.baseline_p_up > 0.5)
                self._base_log_loss.update(up, entry.baseline_p_up)
                self._base_mae.update(y, 0.0)
                self._scored += 1
            self.model._learn_clean(entry.x, y)
            self._labels += 1
            self._ups += up
            if self.drift is not None and entry.prediction.ready:
                event = self.drift.update(abs(float(up) - entry.prediction.p_up), ts_ms)
                if event is not None:
                    self._on_drift(event)

    def _on_drift(self, event: DriftEvent) -> None:
        assert self.drift is not None
        self.drift_events.append(event)
        if event.action == "reset":
            self.model = self.model.fresh()
            self.drift.restart()
        elif event.action == "fallback":
            self._fallback_until_label = self._labels + self.drift.fallback_labels
            self.drift.restart()

    def metrics(self) -> dict[str, float]:
        """Progressive-validation scores of the model and the baseline on the same post-warm-up labels.

        `n` is the number of scored labels; `n_labels` counts every label learned, warm-up included.
        Accuracy compares `p_up > 0.5` with `return > 0`.
        """
        return {
            "n": float(self._scored),
            "n_labels": float(self._labels),
            "accuracy": float(self._accuracy.get()),
            "log_loss": float(self._log_loss.get()),
            "mae": float(self._mae.get()),
            "baseline_accuracy": float(self._base_accuracy.get()),
            "baseline_log_loss": float(self._base_log_loss.get()),
            "baseline_mae": float(self._base_mae.get()),
            "pending": float(len(self._pending)),
            "dropped": float(self.n_dropped),
            "expired": float(self.n_expired),
            "out_of_order": float(self.n_out_of_order),
            "bad_price": float(self.n_bad_price),
            "drifts": float(self.drift.detections if self.drift is not None else 0),
            "fallback": float(self.fallback_active),
        }
