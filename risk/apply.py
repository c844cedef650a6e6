"""One risk input message applied to the state: the whole of what risk does with it.

The risk agent calls this per message of its subscription, in log order; the backtest calls it with the
signals and fills of a recording. Every input applies at most once (offsets recorded in the state; the
agent's merged signals come without one: it records how far they are applied itself, and a signal read
again is known by `already_decided`).
"""

from __future__ import annotations

import logging

from risk.controls import apply_control, apply_mint, apply_strategy_params, limits_for_strategy
from risk.decide import already_decided, decide_all
from risk.exits import close_position, exits, flatten
from risk.fills import apply_fill
from risk.limits import RiskLimits
from risk.rebalance import plan_rebalance
from risk.state import RiskState, already_applied, mark_applied, raise_mark
from streams.codec import decode
from streams.records import (
    PRICE_MARK,
    Control,
    Fill,
    ManualRequest,
    MintInfo,
    Order,
    Rejection,
    Signal,
    StrategyParams,
)
from streams.topics import CONTROL, CONTROL_MANUAL, FILLS, RAW_MINTS, STRATEGY_PARAMS

logger = logging.getLogger(__name__)


RiskInput = Fill | MintInfo | Control | StrategyParams | ManualRequest | Signal

# The record each input topic carries; anything else is a signal (`signals` and the tests' own names).
_RECORDS: dict[str, type[RiskInput]] = {
    FILLS.name: Fill,
    RAW_MINTS.name: MintInfo,
    CONTROL.name: Control,
    STRATEGY_PARAMS.name: StrategyParams,
    CONTROL_MANUAL.name: ManualRequest,
}


def decode_input(topic: str, value: bytes | None) -> RiskInput:
    """The record a risk input message carries. Raises DecodeError."""
    return decode(_RECORDS.get(topic, Signal), value)


def apply_message(
    state: RiskState,
    topic: str,
    partition: int,
    offset: int | None,
    value: bytes | None,
    now_ms: int,
    limits: RiskLimits,
) -> list[Order | Rejection]:
    """`apply_record` of the message's record, decoded here. Raises DecodeError."""
    if offset is not None and already_applied(state, topic, partition, offset):
        return []
    return apply_record(state, topic, partition, offset, decode_input(topic, value), now_ms, limits)


def apply_record(
    state: RiskState,
    topic: str,
    partition: int,
    offset: int | None,
    record: RiskInput,
    now_ms: int,
    limits: RiskLimits,
) -> list[Order | Rejection]:
    """Apply one input, decoded already (the merge decoded the agent's signals to place them, the
    backtest holds its own), to the state; returns the decisions to publish.

    signal:  once per signal (`already_decided`): the exits its price calls for on the pair first (so a
             stop loss reserves the position before a new buy can be sized), then `decide_all`, each with
             the limits of its strategy (`limits_for_strategy`: the signal's, or the position opener's).
             A price mark (direction 0: a snapshot no strategy acted on) runs the exits only, so stops
             hold on every price of a held pair; it is never decided, counted or rejected.
    fill:    `apply_fill`. mint: `apply_mint`. control: `apply_control` (kill switch, rebalance).
    manual:  a `close` sells the position (`close_position`); a `cancel` is the execution sink's to do.
    params:  `apply_strategy_params`.
    Then, whatever the input: `flatten` when a halt asked for it, and the next rebalance slices.
    """
    if offset is not None and already_applied(state, topic, partition, offset):
        return []
    out: list[Order | Rejection] = []
    if isinstance(record, Fill):
        apply_fill(state, record, limits)
    elif isinstance(record, MintInfo):
        apply_mint(state, record, limits)
    elif isinstance(record, Control):
        apply_control(state, record, limits)
    elif isinstance(record, StrategyParams):
        apply_strategy_params(state, record)
    elif isinstance(record, ManualRequest):
        request = record
        if request.action == "close" and request.portfolio == state.portfolio:
            out.extend(close_position(state, request.pair, limits, now_ms, request.wallet or request.id))
        elif request.action == "cancel":
            # The API marked it in Redis; the execution sink refuses it if it has not executed yet, and its
            # `cancelled` fill releases the reservation here like any terminal outcome.
            logger.info(
                "cancel of %s requested by %s",
                request.order_id,
                request.wallet,
                extra={"order_id": request.order_id},
            )
    else:
        signal = record
        if not already_decided(state, signal):  # a re-emitted signal was decided once already
            held = state.positions.get(signal.pair)
            mark = signal.direction == PRICE_MARK
            if mark:
                raise_mark(state, f"{signal.pair}|{signal.strategy}", signal.ts_ms, signal.id)
            out.extend(
                exits(
                    state,
                    signal.pair,
                    signal.price,
                    signal.ts_ms,
                    signal.pools,
                    limits_for_strategy(limits, state, held.strategy) if held is not None else limits,
                    now_ms,
                    origin_ms=signal.origin_ms,
                )
            )
            if not mark:
                strategy_limits = limits_for_strategy(limits, state, signal.strategy)
                out.extend(decide_all(state, signal, strategy_limits, now_ms))
    out.extend(flatten(state, limits, now_ms))
    out.extend(plan_rebalance(state, limits, now_ms))
    if offset is not None:
        mark_applied(state, topic, partition, offset)
    return out
