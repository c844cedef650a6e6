"""Fills before the next signal: the order a batch of risk inputs is applied in, and what holds a signal.

A signal is decided only once the fills of every order decided before it are applied, as in the
backtest, so decisions never depend on how fast the venue answered. How long to wait for a fill that does
not come is the agent's (wall time); which inputs go first and which orders are awaited is decided here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import TypeVar

from risk.state import RiskState
from streams.topics import CONTROL, CONTROL_MANUAL, SIGNALS, STRATEGY_PARAMS

# Inputs applied ahead of the signals fetched with them: a halt, a cancel or new parameters must not wait.
PRIORITY_TOPICS = (CONTROL.name, CONTROL_MANUAL.name, STRATEGY_PARAMS.name)

T = TypeVar("T")


def in_apply_order(inputs: Iterable[T], topic_of: Callable[[T], str]) -> tuple[list[T], list[T]]:
    """(the inputs to apply at once: priority topics first, then fills and the rest; the signals), each
    part in log order. Signals go last, one at a time, while no fill is awaited (`awaited_fills`)."""
    first: list[T] = []
    rest: list[T] = []
    signals: list[T] = []
    for item in inputs:
        topic = topic_of(item)
        if topic in PRIORITY_TOPICS:
            first.append(item)
        elif topic == SIGNALS.name:
            signals.append(item)
        else:
            rest.append(item)
    return first + rest, signals


def awaited_fills(state: RiskState, given_up: Collection[str] = ()) -> list[str]:
    """The orders whose fills the next signal waits for: every pending one not given up on."""
    return [oid for oid in state.pending if oid not in given_up]
