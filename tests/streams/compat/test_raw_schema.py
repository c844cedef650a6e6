"""RawBytesSchema: the events Faust's own raw/bytes schema gives, without its decoding chain."""

from __future__ import annotations

import time
from typing import Any

import pytest
from faust.serializers.schemas import Schema
from faust.types import Message

from core.settings import load_settings
from streams.app import PipelineTopics, build_app, declare_topics
from streams.compat.raw_schema import RawBytesSchema

RECORDS = [
    (b"SOL/USDC", b'{"pair": "SOL/USDC"}'),
    (None, b"not json at all \xff\x00"),
    (b"~progress", None),
    (b"", b""),
]


def message(key: bytes | None, value: bytes | None, offset: int = 7) -> Message:
    return Message("raw.swaps", 2, offset, 1_700_000_000.5, 0, [("h", b"v")], key, value, None)


@pytest.fixture(scope="module")
def topics() -> tuple[Any, PipelineTopics]:
    settings = load_settings()
    app = build_app(settings)
    return app, declare_topics(app, settings)


async def test_events_are_what_fausts_raw_schema_decodes(topics: tuple[Any, PipelineTopics]) -> None:
    app, declared = topics
    faust_decode = Schema(
        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    ).compile(app)
    for chan in (declared.raw_swaps_topic, declared.features_inputs_topic, declared.risk_inputs_topic):
        for clone in (chan, chan.clone(is_iterator=True)):  # a stream reads a clone, compiled again
            for key, value in RECORDS:
                msg = message(key, value)
                ours, theirs = (
                    await clone.decode(msg, propagate=True),
                    await faust_decode(msg, propagate=True),
                )
                assert type(ours) is type(theirs)
                assert (ours.key, ours.value, ours.headers, ours.app) == (
                    theirs.key,
                    theirs.value,
                    theirs.headers,
                    theirs.app,
                )
                assert ours.message is msg


def test_every_agent_topic_reads_raw_bytes_and_sends_as_before(topics: tuple[Any, PipelineTopics]) -> None:
    app, declared = topics
    for name, chan in vars(declared).items():
        assert isinstance(chan.schema, RawBytesSchema), name
        assert (chan.key_type, chan.value_type) == (bytes, bytes), name
    ours = declared.signals_topic.schema
    theirs: Schema[bytes, bytes] = Schema(
        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    for key, value in RECORDS:
        if key is not None:
            assert ours.dumps_key(app, key, headers={}) == theirs.dumps_key(app, key, headers={})
        if value is not None:
            assert ours.dumps_value(app, value, headers={}) == theirs.dumps_value(app, value, headers={})


async def test_decoding_costs_a_fraction_of_fausts_chain(topics: tuple[Any, PipelineTopics]) -> None:
    app, declared = topics
    faust_decode = Schema(
        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    ).compile(app)
    msgs = [message(b"SOL/USDC", b'{"x": %d}' % i, i) for i in range(5_000)]

    async def cost(decode: Any) -> float:
        started = time.perf_counter()
        for m in msgs:
            await decode(m, propagate=True)
        return time.perf_counter() - started

    # Alternated, best of 5 each: a busy moment on a shared box then slows both sides alike, or neither.
    ours, theirs = float("inf"), float("inf")
    for _ in range(5):
        ours = min(ours, await cost(declared.raw_swaps_topic.decode))
        theirs = min(theirs, await cost(faust_decode))
    assert ours * 2 < theirs, f"{ours * 1e6 / len(msgs):.2f} us vs Faust's {theirs * 1e6 / len(msgs):.2f} us"
