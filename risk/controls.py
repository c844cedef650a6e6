"""What operators and the chain tell risk: the kill switch and rebalances (`control`), mints whose
authorities are still set (`raw.mints`), and each strategy's own risk parameters (`strategy.params`)."""

from __future__ import annotations

import logging

from risk.breakers import advance_clock, clear_halt, set_halt
from risk.codes import MANUAL_HALT
from risk.limits import RiskLimits
from risk.rebalance import start_rebalance
from risk.state import RiskState, remember, remember_value
from streams.records import Control, MintInfo, StrategyParams

logger = logging.getLogger(__name__)

CONTROL_IDS_KEPT = 64
BAD_MINTS_KEPT = 1024  # flagged mints remembered; the oldest forgotten flag falls back to the launch cap
STRATEGY_RISK_FIELDS = ("max_position_pct", "stop_loss_pct", "take_profit_pct")


def apply_mint(state: RiskState, info: MintInfo, limits: RiskLimits) -> None:
    """Remember a mint whose mint or freeze authority is still set (buys refused); forget one revoked."""
    set_ = [
        f"{name} authority {who}"
        for name, who in (("mint", info.mint_authority), ("freeze", info.freeze_authority))
        if who
    ]
    if set_:
        remember_value(state.bad_mints, info.mint, " and ".join(set_) + " still set", BAD_MINTS_KEPT)
    else:
        state.bad_mints.pop(info.mint, None)
    if info.ts_ms > 0:
        advance_clock(state, info.ts_ms, limits)


def apply_control(state: RiskState, control: Control, limits: RiskLimits) -> bool:
    """The kill switch: halt (maybe flattening) or resume; or start a rebalance. A resume clears a manual
    halt only; breakers (drawdown, daily drawdown, staleness) keep their own halts. Returns False for a
    control already applied (same id) or older than the newest one applied: the Redis fast path may
    deliver a halt before an older resume still queued on the topic, and that resume must not undo it."""
    if control.id in state.control_ids or control.ts_ms < state.control_ts_ms:
        return False
    remember(state.control_ids, control.id, CONTROL_IDS_KEPT)
    state.control_ts_ms = control.ts_ms
    if control.action == "rebalance":
        start_rebalance(state, control, limits)
    elif control.action == "halt":
        reason = f"manual: {control.reason or 'operator'}"
        set_halt(state, MANUAL_HALT, reason, limits, flatten=control.flatten)
    elif control.action == "resume":
        clear_halt(state, MANUAL_HALT)
    else:
        logger.error("control %s: unknown action %r, ignored", control.id, control.action)
    return True


def apply_strategy_params(state: RiskState, params: StrategyParams) -> None:
    """Keep the risk fields an operator set for a strategy; the latest record per strategy wins."""
    state.strategy_params[params.name] = {
        "enabled": bool(params.enabled),
        **{name: float(getattr(params, name)) for name in STRATEGY_RISK_FIELDS},
        "updated_ms": int(params.updated_ms),
    }


def limits_for_strategy(limits: RiskLimits, state: RiskState, strategy: str) -> RiskLimits:
    """The limits with the strategy's own max position, stop loss and take profit, when an operator set them.

    Values the limits refuse (out of range) keep the portfolio's: a bad record must not stop risk.
    """
    params = state.strategy_params.get(strategy)
    if not params:
        return limits
    overrides = {name: params[name] for name in STRATEGY_RISK_FIELDS if name in params}
    if all(getattr(limits, name) == value for name, value in overrides.items()):
        return limits
    try:
        return limits.replace(**overrides)
    except ValueError as exc:
        logger.error("strategy %s: parameters %s ignored: %s", strategy, overrides, exc)
        return limits
