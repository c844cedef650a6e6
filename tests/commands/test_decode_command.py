"""`solbot decode`: the JSON it prints, its exit codes, and its argparse wiring."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from solbot.commands import decode
from tests.venues.pumpfun.pump_vectors import TRADE_129_LINE, VIXEN_BUY_CPI


def _run(capsys: pytest.CaptureFixture[str], program: str, data: str) -> tuple[int, str, str]:
    code = decode.main(None, argparse.Namespace(program=program, data=data))
    out, err = capsys.readouterr()
    return code, out, err


def test_pumpfun_trade_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "pumpfun", TRADE_129_LINE)
    assert code == 0 and err == "" and out.count("\n") == 1
    doc = json.loads(out)
    assert doc == {
        "event": "TradeEvent",
        "mint": "7R4zU5pgHFxRQaNUhhCAPFXaSN6AWiheD6rRfkFJpump",
        "sol_amount": 1_253_951_806,
        "token_amount": 37_809_162_736_217,
        "is_buy": True,
        "user": "ASxMiMb1AJGTU4AduPNB2CGqT1TiDqWkLvy7oCUnzw5x",
        "timestamp": 1_734_616_564,
        "virtual_sol_reserves": 33_306_996_548,
        "virtual_token_reserves": 966_463_606_623_031,
        "real_sol_reserves": 3_306_996_548,
        "real_token_reserves": 686_563_606_623_031,
    }
    assert '"is_buy": true' in out


def test_pumpfun_cpi_bytes_and_later_fields(capsys: pytest.CaptureFixture[str]) -> None:
    import base64

    code, out, _ = _run(capsys, "pumpfun", base64.b64encode(VIXEN_BUY_CPI).decode())
    doc = json.loads(out)
    assert code == 0 and doc["ix_name"] == "buy" and doc["mayhem_mode"] is False
    assert doc["fee_basis_points"] == 95 and doc["creator_fee_basis_points"] == 30


def test_raydium(capsys: pytest.CaptureFixture[str]) -> None:
    line = (
        "Program log: ray_log: A2SoNgAAAAAAAAAAAAAAAAABAAAAAAAAAB7IPhAIAAAAjEpmligAAACk8vyzBgAAAFoWSgEAAAAA"
    )
    code, out, _ = _run(capsys, "raydium", line)
    doc = json.loads(out)
    assert code == 0 and doc["event"] == "SwapBaseIn" and doc["out_amount"] == 21_632_602
    assert list(doc)[1:] == [
        "amount_in",
        "minimum_out",
        "direction",
        "user_source",
        "pool_coin",
        "pool_pc",
        "out_amount",
    ]


@pytest.mark.parametrize(
    ("program", "data"),
    [
        ("pumpfun", "Program data: AAAAAAAAAAAAAAAA"),
        ("pumpfun", "Program data: %%%"),
        ("raydium", "Program log: ray_log: AQ=="),
        ("jupiter", TRADE_129_LINE),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], program: str, data: str
) -> None:
    code, out, err = _run(capsys, program, data)
    assert code == 1 and out == ""
    assert err.startswith("solbot decode: ") and err.count("\n") == 1


def test_argparse_wiring() -> None:
    script = (
        "import argparse, sys\n"
        "from solbot.commands import decode\n"
        "p = argparse.ArgumentParser(prog='solbot')\n"
        "sub = p.add_subparsers(dest='command', required=True)\n"
        "decode.add_parser(sub)\n"
        "args = p.parse_args(sys.argv[1:])\n"
        "sys.exit(decode.main(None, args))\n"
    )
    ok = subprocess.run(
        [sys.executable, "-c", script, "decode", "pumpfun", TRADE_129_LINE], capture_output=True, text=True
    )
    assert ok.returncode == 0 and json.loads(ok.stdout)["event"] == "TradeEvent"
    bad = subprocess.run(
        [sys.executable, "-c", script, "decode", "orca", "x"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
