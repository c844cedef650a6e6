"""decode_transaction_logs on a real routed transaction, on stacks, failures and truncation."""

from __future__ import annotations

from tests.venues.pumpfun.pump_vectors import TRADE_129_LINE
from venues.jupiter import decoders as jupiter
from venues.pumpfun import decoders as pumpfun
from venues.raydium import decoders as raydium
from venues.registry import decode_transaction_logs

PUMP = pumpfun.PROGRAM_ID
RAY = raydium.PROGRAM_ID
JUP = jupiter.PROGRAM_ID
TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
LIMIT_ORDER = "jupoNjAxXgZ4rjzxzPMP4oxduvQsQtZzyknqvzYNrNu"

# Abridged from a real mainnet getTransaction (public JSON, search-index content id 49119220113): a
# Jupiter limit-order fill routed through Jupiter v6 -> Raydium v4. The limit-order program's own
# `TradeEvent` shares Pump.fun's discriminator, and must not be read as a Pump.fun trade.
ROUTED = [
    f"Program {LIMIT_ORDER} invoke [1]",
    "Program log: Instruction: PreFlashFillOrder",
    f"Program {TOKEN} invoke [2]",
    "Program log: Instruction: TransferChecked",
    f"Program {TOKEN} consumed 6200 of 456386 compute units",
    f"Program {TOKEN} success",
    f"Program {LIMIT_ORDER} success",
    f"Program {JUP} invoke [1]",
    "Program log: Instruction: Route",
    f"Program {RAY} invoke [2]",
    "Program log: ray_log: A2SoNgAAAAAAAAAAAAAAAAABAAAAAAAAAB7IPhAIAAAAjEpmligAAACk8vyzBgAAAFoWSgEAAAAA",
    f"Program {TOKEN} invoke [3]",
    "Program log: Instruction: Transfer",
    f"Program {TOKEN} success",
    f"Program {RAY} consumed 30668 of 377826 compute units",
    f"Program {RAY} success",
    f"Program {JUP} invoke [2]",
    f"Program {JUP} consumed 2021 of 344180 compute units",
    f"Program {JUP} success",
    f"Program return: {JUP} CLU2AAAAAAA=",
    f"Program {JUP} success",
    f"Program {LIMIT_ORDER} invoke [1]",
    "Program log: Instruction: FlashFillOrder",
    "Program data: vdt/007mYe6qwLPR1REDffbijltLkzI0xiksc7E58xwUpBG/grRSx1lHKkCyZDWBtb1Nj5NatQSurNWWy0a2"
    "b1mw9O9xbT672bhYBQAAAABZtlkFAAAAAGSoNgAAAAAAhLI2AAAAAAA=",
    f"Program {LIMIT_ORDER} success",
]


def test_real_routed_transaction() -> None:
    out = decode_transaction_logs(ROUTED, signature="sig", slot=5, received_ms=9)
    assert not out.issues and not out.truncated and not out.failed
    assert len(out) == 1
    only = out[0]
    assert only.program_id == RAY and only.depth == 2 and only.line == 10
    assert isinstance(only.event, raydium.SwapBaseIn) and only.event.out_amount == 21_632_602
    assert (only.signature, only.slot, only.received_ms) == ("sig", 5, 9)


def _pump_tx(*middle: str) -> list[str]:
    return [f"Program {PUMP} invoke [1]", "Program log: Instruction: Buy", *middle, f"Program {PUMP} success"]


def test_pump_event_after_its_self_cpi() -> None:
    logs = _pump_tx(
        f"Program {PUMP} invoke [2]",
        f"Program {PUMP} consumed 2003 of 134597 compute units",
        f"Program {PUMP} success",
        TRADE_129_LINE,
    )
    out = decode_transaction_logs(logs, signature="s", slot=1, received_ms=0)
    assert [type(e.event) for e in out] == [pumpfun.TradeEvent] and out[0].depth == 1


def test_unfollowed_events_are_skipped_and_bad_ones_reported() -> None:
    complete = "Program data: X3JhnNQumAg" + "A" * 21  # CompleteEvent: real, not consumed
    logs = _pump_tx(complete, "Program data: vdt/007mYe4AAAAA", "Program data: ###", TRADE_129_LINE)
    out = decode_transaction_logs(logs, signature="s", slot=1, received_ms=0)
    assert len(out) == 1
    assert [i.line for i in out.issues] == [3, 4]
    assert "truncated" in out.issues[0].reason and "base64" in out.issues[1].reason


def test_truncated_and_failed() -> None:
    logs = [*_pump_tx(TRADE_129_LINE)[:-1], "Log truncated"]
    out = decode_transaction_logs(logs, signature="s", slot=1, received_ms=0)
    assert out.truncated and len(out) == 1
    failed = [*_pump_tx(TRADE_129_LINE)[:-1], f"Program {PUMP} failed: custom program error: 0x1772"]
    out = decode_transaction_logs(failed, signature="s", slot=1, received_ms=0)
    assert out.failed and len(out) == 1 and not out.issues


def test_unbalanced_stack_is_reported_not_fatal() -> None:
    logs = [f"Program {RAY} invoke [3]", f"Program {JUP} success", "Program data: AAAA", "ray_log junk"]
    out = decode_transaction_logs(logs, signature="s", slot=1, received_ms=0)
    assert len(out) == 0 and len(out.issues) == 2
    assert decode_transaction_logs([], signature="s", slot=1, received_ms=0) == []
