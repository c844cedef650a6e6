"""`solbot decode <program> <data>`: decode one on-chain event and print it as JSON.

For checking a log line by hand against the decoders the collectors use. Field names are the venue's
(IDL snake_case), pubkeys base58, amounts exact integers. Fields a shorter (older) layout does not
carry are left out rather than printed as null.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from collectors.decoders import jupiter, pumpfun, raydium
from collectors.decoders.borsh import b64decode
from core.errors import DecodeError

PROGRAMS = ("pumpfun", "raydium", "jupiter")


def add_parser(subparsers: Any) -> None:
    """Register `decode` on the CLI's subparsers (the lead wires it into `solbot.cli`)."""
    p = subparsers.add_parser("decode", help="decode one on-chain event (a log line or its base64) to JSON")
    p.add_argument("program", choices=PROGRAMS, help="which program emitted it")
    p.add_argument(
        "data",
        help="'Program data: <base64>' (pumpfun, jupiter; also the self-CPI bytes in base64), "
        "'Program log: ray_log: <base64>' (raydium), or the bare base64",
    )


def _strip(text: str, *prefixes: str) -> str:
    text = text.strip()
    for prefix in prefixes:
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text.strip()


def decode(program: str, data: str) -> Any:
    """The event for `data` as `program` emitted it; raises DecodeError."""
    if program == "raydium":
        return raydium.decode_ray_log(data)
    raw = b64decode(_strip(data, "Program data: "), f"{program} data")
    if program == "pumpfun":
        return pumpfun.decode_cpi_data(raw) if raw[:8] == pumpfun.EVENT_CPI_TAG else pumpfun.decode_event(raw)
    if program == "jupiter":
        return jupiter.decode_cpi_data(raw) if raw[:8] == jupiter.EVENT_CPI_TAG else jupiter.decode_event(raw)
    raise DecodeError(f"unknown program {program!r}; expected one of {', '.join(PROGRAMS)}")


def to_json(event: Any) -> str:
    fields = {k: v for k, v in dataclasses.asdict(event).items() if v is not None}
    return json.dumps({"event": type(event).__name__, **fields})


def main(settings: Any, args: argparse.Namespace) -> int:
    """Print one JSON object; on bad input, one line to stderr and exit code 1."""
    try:
        event = decode(args.program, args.data)
    except DecodeError as exc:
        print(f"solbot decode: {exc}", file=sys.stderr)
        return 1
    print(to_json(event))
    return 0
