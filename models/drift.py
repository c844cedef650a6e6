"""Concept drift on a model's error: ADWIN watches |1[up] - p_up| and says when its mean has moved.

The market's regimes change (the simulator's hidden chain, real markets' news), and an online model that
learned one regime keeps paying for it in the next. ADWIN keeps a window of the error whose two halves
never differ significantly; when they do, the old part is cut, and if the error went up a drift is
reported (a fall in error is the model learning). What happens then
is `MODEL_DRIFT_ACTION`: `alert` only reports it, `reset` starts the model afresh (it trades again after
its warm-up), `fallback` serves the baseline's prediction for `fallback_labels` labels while the model keeps
learning. Every drift is counted and alerted through callbacks, so this module imports nothing from web/.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from river import drift

from core.errors import ConfigError

log = logging.getLogger(__name__)

DriftAction = Literal["alert", "reset", "fallback"]
DRIFT_ACTIONS: tuple[str, ...] = get_args(DriftAction)


@dataclass(frozen=True)
class DriftEvent:
    """One detection: which model, what was done, when (event time) and after how many errors."""

    key: str
    action: DriftAction
    ts_ms: int
    n_errors: int  # errors seen by this monitor so far
    detections: int  # this one included
    window_mean_error: float  # ADWIN's window mean after the cut: the error level of the new regime


class DriftMonitor:
    """ADWIN over one model's absolute error, with the action to take and the callbacks to tell.

    `on_count(key)` is meant for the `solbot_model_drift_total{pair}` counter, `on_alert(event)` for the
    operator's alert channel. Callbacks are not pickled (a checkpoint must not carry a socket or a metrics
    registry); `attach` sets them again after a restore.
    """

    def __init__(
        self,
        key: str,
        action: DriftAction = "reset",
        delta: float = 0.002,
        fallback_labels: int = 200,
        on_count: Callable[[str], None] | None = None,
        on_alert: Callable[[DriftEvent], None] | None = None,
    ) -> None:
        if action not in DRIFT_ACTIONS:
            raise ConfigError(f"drift action must be one of {DRIFT_ACTIONS}, got {action!r}")
        if not 0.0 < delta < 1.0:
            raise ConfigError("drift delta must be in (0, 1)")
        if fallback_labels < 1:
            raise ConfigError("fallback_labels must be >= 1")
        self.key = key
        self.action: DriftAction = action
        self.delta = delta
        self.fallback_labels = fallback_labels
        self.on_count = on_count
        self.on_alert = on_alert
        self.detections = 0
        self.n_errors = 0
        self._adwin = drift.ADWIN(delta=delta)

    def attach(
        self,
        on_count: Callable[[str], None] | None = None,
        on_alert: Callable[[DriftEvent], None] | None = None,
    ) -> None:
        self.on_count = on_count
        self.on_alert = on_alert

    def restart(self) -> None:
        """Forget the error history: the model it watched was replaced."""
        self._adwin = drift.ADWIN(delta=self.delta)

    def update(self, abs_error: float, ts_ms: int) -> DriftEvent | None:
        """Feed one absolute error; the event if ADWIN detected a change (callbacks already called)."""
        if not math.isfinite(abs_error):
            return None
        self.n_errors += 1
        before = float(self._adwin.estimation)
        self._adwin.update(abs_error)
        if not self._adwin.drift_detected or float(self._adwin.estimation) <= before:
            # ADWIN reports a change either way; a model whose error fell has improved, not drifted
            return None
        self.detections += 1
        event = DriftEvent(
            key=self.key,
            action=self.action,
            ts_ms=ts_ms,
            n_errors=self.n_errors,
            detections=self.detections,
            window_mean_error=float(self._adwin.estimation),
        )
        log.warning(
            "model drift on %s at %d (detection %d, error now %.3f): %s",
            self.key,
            ts_ms,
            self.detections,
            event.window_mean_error,
            self.action,
        )
        self._call(self.on_count, self.key)
        self._call(self.on_alert, event)
        return event

    def _call(self, callback: Callable[[Any], None] | None, arg: object) -> None:
        if callback is None:
            return
        try:
            callback(arg)
        except Exception:  # a broken alert channel must not stop the model
            log.exception("drift callback failed for %s", self.key)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["on_count"] = None
        state["on_alert"] = None
        return state
