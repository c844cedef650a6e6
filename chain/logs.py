"""Walk one transaction's log lines and decode the events of the programs a decoder table follows.

An event line does not say who wrote it: `Program data:` and `Program log:` lines belong to whichever
program is on top of the invoke stack at that moment. The same bytes can mean different things from
different programs (the Jupiter limit-order program emits a `TradeEvent` with Pump.fun's
discriminator; Raydium CPMM's `SwapEvent` shares Jupiter's), so the stack decides which decoder runs:
the one the table holds for the program on top, and no other.

The walker knows no venue: the table (program id -> `ProgramLogDecoder`) comes from the caller, in
practice `venues.registry`, which holds one decoder per followed program.

Nothing here raises on bad input: a line that does not decode becomes a `LogIssue`, and a truncated
log (`Log truncated`) sets `truncated`, because one odd line must not cost the rest of the block.
Events from a transaction that failed are still returned (the program did log them) with `failed`
set; they describe state changes that were rolled back, so callers should drop them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from core.errors import DecodeError

_INVOKE = re.compile(r"^Program (\w+) invoke \[(\d+)\]$")
_SUCCESS = re.compile(r"^Program (\w+) success$")
_FAILED = re.compile(r"^Program (\w+) failed(?::.*)?$")
_DATA_PREFIX = "Program data: "
_LOG_PREFIX = "Program log: "
_TRUNCATED = "Log truncated"


class ProgramLogDecoder(Protocol):
    """One program's events in its log lines; None for a line that carries nothing followed."""

    def program_data(self, b64: str) -> Any | None:
        """The text after `Program data: ` (base64); DecodeError if it should decode and does not."""
        ...

    def program_log(self, text: str) -> Any | None:
        """The text after `Program log: `; DecodeError if it should decode and does not."""
        ...


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """A decoded event and where it came from."""

    event: Any  # the venue's typed event (`venues.<venue>.schemas`)
    program_id: str
    depth: int  # invoke depth of the emitting program (1 = top-level instruction)
    line: int  # index of the log line
    signature: str
    slot: int
    received_ms: int


@dataclass(frozen=True, slots=True)
class LogIssue:
    """A line that should have decoded and did not, or a stack that did not balance."""

    line: int
    reason: str


class DecodedLogs(list[LoggedEvent]):
    """The events, in log order, plus what went wrong on the way."""

    def __init__(self, signature: str, slot: int) -> None:
        super().__init__()
        self.signature = signature
        self.slot = slot
        self.truncated = False
        self.failed = False
        self.issues: list[LogIssue] = []


def walk_logs(
    logs: list[str],
    decoders: Mapping[str, ProgramLogDecoder],
    *,
    signature: str,
    slot: int,
    received_ms: int,
) -> DecodedLogs:
    """Every event the decoders of `decoders` find in one transaction's `logMessages`."""
    out = DecodedLogs(signature, slot)
    stack: list[str] = []
    for index, raw in enumerate(logs):
        line = raw.strip() if isinstance(raw, str) else ""
        if line == _TRUNCATED:
            out.truncated = True
            break
        if match := _INVOKE.match(line):
            program, depth = match.group(1), int(match.group(2))
            if depth != len(stack) + 1:
                out.issues.append(
                    LogIssue(index, f"invoke depth {depth} with {len(stack)} programs on the stack")
                )
                del stack[max(depth - 1, 0) :]
            stack.append(program)
            continue
        if (match := _SUCCESS.match(line)) or (match := _FAILED.match(line)):
            if line.startswith(f"Program {match.group(1)} failed"):
                out.failed = True
            if stack and stack[-1] == match.group(1):
                stack.pop()
            else:
                out.issues.append(
                    LogIssue(index, f"{match.group(1)} returned but was not on top of the stack")
                )
                if match.group(1) in stack:
                    del stack[stack.index(match.group(1)) :]
            continue
        if not stack:
            continue
        program = stack[-1]
        decoder = decoders.get(program)
        if decoder is None:
            continue
        try:
            if line.startswith(_DATA_PREFIX):
                event = decoder.program_data(line[len(_DATA_PREFIX) :])
            elif line.startswith(_LOG_PREFIX):
                event = decoder.program_log(line[len(_LOG_PREFIX) :])
            else:
                continue
        except DecodeError as exc:
            out.issues.append(LogIssue(index, str(exc)))
            continue
        if event is not None:
            out.append(LoggedEvent(event, program, len(stack), index, signature, slot, received_ms))
    return out
