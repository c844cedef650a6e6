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

from core.errors import DecodeError
from venues import registry

PROGRAMS = tuple(str(name) for name in registry.decodable())


def add_parser(subparsers: Any) -> None:
    """Register `decode` on the CLI's subparsers (the lead wires it into `solbot.cli`)."""
    p = subparsers.add_parser("decode", help="decode one on-chain event (a log line or its base64) to JSON")
    p.add_argument("program", choices=PROGRAMS, help="which program emitted it")
    p.add_argument(
        "data",
        help="'Program data: <base64>' (pumpfun, jupiter; also the self-CPI bytes in base64), "
        "'Program log: ray_log: <base64>' (raydium), or the bare base64",
    )


def decode(program: str, data: str) -> Any:
    """The event for `data` as `program` emitted it; raises DecodeError."""
    if program not in PROGRAMS:
        raise DecodeError(f"unknown program {program!r}; expected one of {', '.join(PROGRAMS)}")
    decode_text = registry.entry(program).decode_text
    assert decode_text is not None
    return decode_text(data)


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
