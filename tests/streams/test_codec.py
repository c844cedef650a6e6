"""Checked decoding: every way a message can be wrong has a reason that names the field."""

from __future__ import annotations

import orjson
import pytest

from core.errors import DecodeError
from streams.codec import dead_letter, decode, encode
from streams.records import FeatureSnapshot, PoolState, Swap
from streams.validate import check_swap


def swap(**over: object) -> Swap:
    fields: dict[str, object] = dict(
        venue="raydium",
        pool="P",
        pair="SOL/USDC",
        base_mint="S",
        quote_mint="U",
        base_decimals=9,
        quote_decimals=6,
        side="buy",
        base_amount=10**9,
        quote_amount=150 * 10**6,
        base_reserve=10**12,
        quote_reserve=150 * 10**9,
        fee_bps=25,
        slot=1,
        ts_ms=1_700_000_000_000,
        received_ms=1_700_000_000_001,
        signature="sig",
    )
    fields.update(over)
    return Swap(**fields)


def test_round_trip_is_plain_json() -> None:
    s = swap()
    raw = encode(s)
    assert "__faust" not in orjson.loads(raw)
    assert decode(Swap, raw) == s


def test_nested_records_decode() -> None:
    pool = PoolState(
        venue="orca",
        pool="Q",
        base_mint="S",
        quote_mint="U",
        base_decimals=9,
        quote_decimals=6,
        base_reserve=1,
        quote_reserve=2,
        fee_bps=30,
    )
    snap = FeatureSnapshot(
        id="x", pair="SOL/USDC", ts_ms=1, origin_ms=2, price=1.5, features={"a": 1.0}, pools=[pool]
    )
    assert decode(FeatureSnapshot, encode(snap)).pools[0] == pool


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff", "not JSON"),
        (b"[]", "expected an object"),
        (b"{}", "venue: missing"),
        (None, "tombstone"),
    ],
)
def test_unusable_bytes_have_reasons(raw: bytes | None, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        decode(Swap, raw)


def test_wrong_types_name_the_field() -> None:
    data = orjson.loads(encode(swap()))
    data["base_amount"] = "lots"
    with pytest.raises(DecodeError, match="base_amount: expected int, got str"):
        decode(Swap, orjson.dumps(data))
    data["base_amount"] = True
    with pytest.raises(DecodeError, match="base_amount: expected int, got bool"):
        decode(Swap, orjson.dumps(data))


def test_non_finite_floats_are_refused() -> None:
    raw = b'{"id":"x","pair":"p","ts_ms":1,"origin_ms":1,"price":1e999,"features":{},"pools":[]}'
    with pytest.raises(DecodeError, match="infinity"):  # refused while parsing
        decode(FeatureSnapshot, raw)


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"side": "hold"}, "side"),
        ({"pair": "SOLUSDC"}, "pair"),
        ({"base_amount": 0}, "base_amount"),
        ({"quote_reserve": -1}, "quote_reserve"),
        ({"fee_bps": 10_000}, "fee_bps"),
        ({"ts_ms": 0}, "ts_ms"),
        ({"base_decimals": 40}, "base_decimals"),
    ],
)
def test_impossible_swaps_are_refused(over: dict[str, object], field: str) -> None:
    with pytest.raises(DecodeError, match=field):
        check_swap(swap(**over))


def test_dead_letters_keep_the_original_bytes() -> None:
    import base64

    letter = dead_letter(
        topic="raw.swaps", partition=2, offset=7, key=b"k", value=b"\x00junk", reason="bad", agent="a"
    )
    assert base64.b64decode(letter.value_b64) == b"\x00junk"
    assert (letter.topic, letter.partition, letter.offset) == ("raw.swaps", 2, 7)


def _reason(fn: object, raw: bytes | None) -> str:
    try:
        fn(raw)  # type: ignore[operator]
    except DecodeError as exc:
        return str(exc)
    return "ok"


def test_the_fast_swap_decoder_gives_the_records_reasons() -> None:
    """`decode_swap` (the hot path's plain struct) and `decode(Swap, ...)` agree on every input and reason."""
    import random

    from streams.codec import decode_swap

    good = swap().asdict()
    rng = random.Random(3)
    junk: list[object] = [None, True, 1.5, -1, 0, "", "x", [], {}, 2**40]
    cases: list[bytes | None] = [None, b"", b"nope", b"[]", b"1", encode(swap()), encode(swap(side="up"))]
    for _ in range(400):
        data = dict(good)
        for name in rng.sample(sorted(data), rng.randint(1, 3)):
            if rng.random() < 0.3:
                del data[name]
            else:
                data[name] = rng.choice(junk)
        cases.append(orjson.dumps(data))
    for raw in cases:
        slow = _reason(lambda r: check_swap(decode(Swap, r)), raw)
        fast = _reason(lambda r: check_swap(decode_swap(r)), raw)
        assert fast == slow, raw
    assert decode_swap(encode(swap())).to_record() == swap()


def test_dead_letter_bytes_equal_the_encoded_record() -> None:
    from streams.codec import dead_letter_bytes

    args = dict(
        topic="raw.swaps", partition=2, offset=7, key=None, value=b"\x00junk", reason="r" * 600, agent="a"
    )
    record = dead_letter(**args)  # type: ignore[arg-type]
    assert dead_letter_bytes(**args, ts_ms=record.ts_ms) == encode(record)  # type: ignore[arg-type]


def test_the_creator_fee_split_travels_and_older_swaps_decode_without_it() -> None:
    """A Pump.fun swap's creator part survives both decoders; a swap written before the field existed
    decodes with 0 (one round-up of the total, the old pricing)."""
    from streams.codec import decode_swap

    split = swap(venue="pumpfun", fee_bps=125, creator_fee_bps=30)
    assert decode(Swap, encode(split)).creator_fee_bps == 30
    assert decode_swap(encode(split)).creator_fee_bps == 30
    assert decode_swap(encode(split)).to_record() == split
    old = swap().asdict()
    del old["creator_fee_bps"]
    assert decode_swap(orjson.dumps(old)).creator_fee_bps == 0
    assert decode(Swap, orjson.dumps(old)).creator_fee_bps == 0
    wrong = dict(old, creator_fee_bps="30")
    assert _reason(lambda r: decode_swap(r), orjson.dumps(wrong)) == _reason(
        lambda r: decode(Swap, r), orjson.dumps(wrong)
    )
