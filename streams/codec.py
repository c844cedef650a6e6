"""Encoding and checked decoding of records, so a bad message becomes a dead letter, never a crash.

Faust's own deserialisation raises inside the stream machinery; agents therefore consume raw bytes and
call `decode`, which checks every declared field's presence and type and says exactly what is wrong.
"""

from __future__ import annotations

import base64
import operator
import time
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple, TypeVar

import faust
import orjson

from core.errors import DecodeError
from streams.records import DeadLetter, Swap

R = TypeVar("R", bound=faust.Record)

_MISSING = object()
_SCALARS: dict[Any, tuple[type, ...]] = {
    int: (int,),
    float: (float, int),
    str: (str,),
    bool: (bool,),
}


@cache
def _schema(cls: type[faust.Record]) -> tuple[tuple[str, Any, bool], ...]:
    """(name, type, required) for each field, resolved once per record class."""
    hints = typing.get_type_hints(cls)
    fields = []
    for name, field in cls._options.descriptors.items():
        fields.append((name, hints.get(name, Any), field.required))
    return tuple(fields)


def _check(value: Any, tp: Any, path: str) -> Any:
    if tp is Any:
        return value
    if tp in _SCALARS:
        if isinstance(value, bool) and tp is not bool:
            raise DecodeError(f"{path}: expected {tp.__name__}, got bool")
        if not isinstance(value, _SCALARS[tp]):
            raise DecodeError(f"{path}: expected {tp.__name__}, got {type(value).__name__}")
        if tp is float:
            value = float(value)  # type: ignore[arg-type]
            if value != value or value in (float("inf"), float("-inf")):
                raise DecodeError(f"{path}: not a finite number")
        return value
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:  # optional fields: `X | None`
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is not type(None):
                return _check(value, option, path)
    if origin is list:
        if not isinstance(value, list):
            raise DecodeError(f"{path}: expected a list, got {type(value).__name__}")
        (item_tp,) = typing.get_args(tp)
        return [_check(v, item_tp, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise DecodeError(f"{path}: expected an object, got {type(value).__name__}")
        _, val_tp = typing.get_args(tp)
        return {str(k): _check(v, val_tp, f"{path}.{k}") for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, faust.Record):
        return _build(tp, value, path)
    raise DecodeError(f"{path}: unsupported field type {tp!r}")


def _build(cls: type[R], data: Any, path: str) -> R:
    if not isinstance(data, dict):
        raise DecodeError(f"{path or cls.__name__}: expected an object, got {type(data).__name__}")
    kwargs: dict[str, Any] = {}
    for name, tp, required in _schema(cls):  # type: ignore[arg-type]
        value = data.get(name, _MISSING)
        if value is _MISSING:
            if required:
                raise DecodeError(f"{path}.{name}: missing" if path else f"{name}: missing")
            continue
        if type(value) is not tp or tp is float:  # an exactly-typed int, str or bool passes `_check` as is
            value = _check(value, tp, f"{path}.{name}" if path else name)
        kwargs[name] = value
    return cls(**kwargs)


def decode(cls: type[R], raw: bytes | None) -> R:
    """Parse and validate one message value as `cls`; raises DecodeError with the reason."""
    if raw is None:
        raise DecodeError("empty message (tombstone)")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"not JSON: {exc}") from None
    return _build(cls, data, "")


class RawSwap(NamedTuple):
    """A raw swap as the features stage reads it: `Swap`'s fields in a plain immutable struct.

    Building a Faust record costs several times more than the fold it feeds, so raw swaps stay plain
    structs on the hot path; `to_record()` makes the wire record where one is needed. A named tuple
    rather than a frozen dataclass: it is built straight from the checked values, without a guarded
    attribute write per field (more than half of a frozen dataclass's decode time).
    """

    venue: str
    pool: str
    pair: str
    base_mint: str
    quote_mint: str
    base_decimals: int
    quote_decimals: int
    side: str
    base_amount: int
    quote_amount: int
    base_reserve: int
    quote_reserve: int
    fee_bps: int
    slot: int
    ts_ms: int
    received_ms: int
    signature: str
    real_base_reserve: int = 0
    creator_fee_bps: int = 0

    def to_record(self) -> Swap:
        return Swap(**self._asdict())


def _fields_of(cls: type[faust.Record], data: Any) -> dict[str, Any]:
    """`_build`'s checks, same order and reasons, with a fast path for exactly-typed scalars."""
    if not isinstance(data, dict):
        raise DecodeError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    kwargs: dict[str, Any] = {}
    for name, tp, required in _schema(cls):  # type: ignore[arg-type]
        value = data.get(name, _MISSING)
        if value is _MISSING:
            if required:
                raise DecodeError(f"{name}: missing")
            continue
        if type(value) is not tp or tp is float:  # floats still need their finiteness check
            value = _check(value, tp, name)
        kwargs[name] = value
    return kwargs


@cache
def _swap_layout() -> tuple[Callable[[dict[str, Any]], tuple[Any, ...]], tuple[type, ...]]:
    """A getter of the required fields in RawSwap's order, and the exact type of every RawSwap field."""
    names = RawSwap._fields
    schema = {name: (tp, required) for name, tp, required in _schema(Swap)}
    assert tuple(schema) == names, "RawSwap must list Swap's fields in Swap's order"
    required = [n for n in names if schema[n][1]]
    assert list(names[: len(required)]) == required == list(names[:-2]), "only the last two are optional"
    return operator.itemgetter(*required), tuple(schema[n][0] for n in names)


def swap_from_object(data: Any) -> RawSwap:
    """`decode_swap` for an already-parsed value (a recording holds parsed values)."""
    if type(data) is dict:
        required, types_ = _swap_layout()
        try:
            values = (*required(data), data.get("real_base_reserve", 0), data.get("creator_fee_bps", 0))
        except KeyError:
            values = ()
        if tuple(map(type, values)) == types_:  # every field present with its exact type: nothing to explain
            return tuple.__new__(RawSwap, values)  # the checked values, as they are
    return RawSwap(**_fields_of(Swap, data))  # the slow path finds the reason (or coerces)


def decode_swap(raw: bytes | None) -> RawSwap:
    """`decode(Swap, raw)` without the Faust record: the same DecodeError reasons, several times faster."""
    if raw is None:
        raise DecodeError("empty message (tombstone)")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"not JSON: {exc}") from None
    return swap_from_object(data)


def decode_object(cls: type[R], data: Any) -> R:
    """Validate an already-parsed JSON value as `cls` (a recording holds parsed values); DecodeError."""
    return _build(cls, data, "")


def encode(record: faust.Record) -> bytes:
    """Serialise without Faust's metadata envelope: the wire format is plain JSON objects."""
    return orjson.dumps(record.asdict(), default=_default)


def _default(obj: Any) -> Any:
    if isinstance(obj, faust.Record):
        return obj.asdict()
    raise TypeError(f"cannot encode {type(obj).__name__}")


def dead_letter(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    reason: str,
    agent: str,
) -> DeadLetter:
    """Wrap a message that could not be used, keeping its original bytes."""
    return DeadLetter(
        topic=topic,
        partition=partition,
        offset=offset,
        key_b64=base64.b64encode(key or b"").decode(),
        value_b64=base64.b64encode(value or b"").decode(),
        reason=reason[:500],
        agent=agent,
        ts_ms=int(time.time() * 1000),
    )


def dead_letter_bytes(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    reason: str,
    agent: str,
    ts_ms: int,
) -> bytes:
    """`encode(dead_letter(...))` without the record: a flood of bad input must not cost a record each."""
    return orjson.dumps(
        {
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "key_b64": base64.b64encode(key or b"").decode(),
            "value_b64": base64.b64encode(value or b"").decode(),
            "reason": reason[:500],
            "agent": agent,
            "ts_ms": ts_ms,
        }
    )
