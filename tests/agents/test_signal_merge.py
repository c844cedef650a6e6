"""SignalMerge places each signal by its features partition and hands risk the record it decoded, so a
signal is decoded once on its way to a decision."""

from __future__ import annotations

import pytest

from agents.signal_merge import SignalMerge
from core.errors import DecodeError
from risk.apply import apply_message, apply_record, decode_input
from risk.limits import RiskLimits
from streams.codec import encode
from streams.records import Signal
from streams.topics import FILLS, SIGNALS
from tests.agents.agent_fakes import Event, Message
from tests.risk.risk_factories import fresh, signal


def _event(sig: Signal, offset: int) -> Event:
    return Event(Message(SIGNALS.name, 0, offset, b"main", encode(sig)))


def test_a_placed_signal_is_handed_over_decoded_once() -> None:
    merge = SignalMerge(sources=1, idle_ms=50)
    sig = signal("SOL/USDC", 150.0, sid="a")
    sig.source_partition = 0
    event = _event(sig, 7)
    ready = merge.admit([event], None, now_ms=0.0)
    ready += merge.admit([], None, now_ms=1_000.0)  # the only partition went idle: released
    assert ready == [event]
    decoded = merge.decoded(event)
    assert decoded is not None and decoded.id == sig.id and decoded.pools == sig.pools
    assert merge.decoded(event) is None  # once


def test_an_unplaced_signal_is_left_for_risk_to_decode() -> None:
    merge = SignalMerge(sources=1, idle_ms=50)
    sig = signal("SOL/USDC", 150.0, sid="b")  # names no features partition: decided in log order
    event = _event(sig, 3)
    assert merge.admit([event], None, now_ms=0.0) == [event]
    assert merge.decoded(event) is None


def test_a_record_applies_as_its_message_does() -> None:
    limits = RiskLimits()
    by_message, by_record = fresh(limits), fresh(limits)
    sig = signal("SOL/USDC", 150.0, sid="c")
    out_message = apply_message(by_message, SIGNALS.name, 0, None, encode(sig), 1_000, limits)
    out_record = apply_record(by_record, SIGNALS.name, 0, None, sig, 1_000, limits)
    assert [encode(d) for d in out_message] == [encode(d) for d in out_record]
    assert out_message and by_message.to_dict() == by_record.to_dict()


def test_each_topic_decodes_to_its_record() -> None:
    with pytest.raises(DecodeError):
        decode_input(FILLS.name, encode(signal("SOL/USDC", 150.0)))  # a signal is no fill
    assert isinstance(decode_input(SIGNALS.name, encode(signal("SOL/USDC", 150.0))), Signal)
