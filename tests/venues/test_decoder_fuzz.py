"""Hypothesis: whatever bytes or text arrive, the decoders raise DecodeError or nothing."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import DecodeError
from solbot.commands.decode import decode as cli_decode
from tests.venues.pumpfun.pump_vectors import VIXEN_BUY_CPI, VIXEN_SELL_CPI
from venues.jupiter import decoders as jupiter
from venues.pumpfun import decoders as pumpfun
from venues.pumpfun.schemas import BondingCurve
from venues.raydium import decoders as raydium
from venues.registry import decode_transaction_logs

FAST = settings(max_examples=150, deadline=None)
PREFIXES = [
    pumpfun.TRADE_EVENT_DISCRIMINATOR,
    pumpfun.CREATE_EVENT_DISCRIMINATOR,
    pumpfun.EVENT_CPI_TAG + pumpfun.TRADE_EVENT_DISCRIMINATOR,
    jupiter.SWAP_EVENT_DISCRIMINATOR,
    jupiter.EVENT_CPI_TAG + jupiter.SWAP_EVENT_DISCRIMINATOR,
    pumpfun.BONDING_CURVE_DISCRIMINATOR,
    b"\x03",
    b"\x04",
    b"",
]
# Bytes that often hit a real decoder: a known prefix, then random bytes; or a real event, mutated.
payloads = st.one_of(
    st.binary(max_size=400),
    st.builds(lambda p, b: p + b, st.sampled_from(PREFIXES), st.binary(max_size=400)),
    st.builds(
        lambda raw, cut, i, v: bytes(raw[:i] + bytes([v]) + raw[i + 1 : cut]),
        st.sampled_from([VIXEN_BUY_CPI, VIXEN_SELL_CPI]),
        st.integers(0, 300),
        st.integers(0, 280),
        st.integers(0, 255),
    ),
)


def _only_decode_error(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except DecodeError:
        pass


@FAST
@given(payloads)
def test_byte_decoders(data: bytes) -> None:
    b64 = base64.b64encode(data).decode()
    for fn in (
        lambda: pumpfun.decode_event(data),
        lambda: pumpfun.decode_cpi_data(data),
        lambda: pumpfun.decode_event(data[8:]),
        lambda: pumpfun.decode_program_data(b64),
        lambda: pumpfun.decode_log_line("Program data: " + b64),
        lambda: BondingCurve.decode(data),
        lambda: raydium.decode_ray_log_bytes(data),
        lambda: raydium.decode_ray_log("Program log: ray_log: " + b64),
        lambda: jupiter.decode_event(data),
        lambda: jupiter.decode_cpi_data(data),
        lambda: jupiter.decode_log_line("Program data: " + b64),
        lambda: cli_decode("pumpfun", b64),
        lambda: cli_decode("jupiter", b64),
        lambda: cli_decode("raydium", b64),
    ):
        _only_decode_error(fn)


@FAST
@given(st.text(max_size=300))
def test_text_decoders(text: str) -> None:
    for fn in (
        lambda: pumpfun.decode_program_data(text),
        lambda: pumpfun.decode_log_line(text),
        lambda: pumpfun.bonding_curve_address(text),
        lambda: raydium.decode_ray_log(text),
        lambda: jupiter.decode_log_line(text),
        lambda: cli_decode("pumpfun", text),
    ):
        _only_decode_error(fn)


_programs = st.sampled_from([pumpfun.PROGRAM_ID, raydium.PROGRAM_ID, jupiter.PROGRAM_ID, "Other1111"])
_lines = st.one_of(
    st.text(max_size=80),
    st.builds(lambda p, n: f"Program {p} invoke [{n}]", _programs, st.integers(-1, 6)),
    st.builds(lambda p: f"Program {p} success", _programs),
    st.builds(lambda p: f"Program {p} failed: x", _programs),
    st.builds(lambda d: "Program data: " + base64.b64encode(d).decode(), payloads),
    st.builds(lambda d: "Program log: ray_log: " + base64.b64encode(d).decode(), payloads),
    st.just("Log truncated"),
)


@FAST
@given(st.lists(_lines, max_size=25))
def test_log_walker_never_raises(logs: list[str]) -> None:
    out = decode_transaction_logs(logs, signature="s", slot=1, received_ms=0)
    assert all(e.program_id in (pumpfun.PROGRAM_ID, raydium.PROGRAM_ID, jupiter.PROGRAM_ID) for e in out)
