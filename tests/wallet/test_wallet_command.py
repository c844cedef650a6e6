"""`solbot wallet new | import | address` through argparse, with the passphrase from the environment."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from solders.keypair import Keypair

from core.settings import load_settings
from solbot.commands import check, wallet
from wallet import keystore

PASSPHRASE = "a passphrase only the environment knows"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="solbot")
    sub = parser.add_subparsers(dest="command", required=True)
    wallet.add_parser(sub)
    check.add_parser(sub)
    return parser.parse_args(argv)


def test_new_then_address_in_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(keystore.PASSPHRASE_ENV, PASSPHRASE)
    settings = load_settings(data_dir=tmp_path, broker_url=None, database_url=None, redis_url=None)
    assert wallet.main(settings, parse(["wallet", "new"])) == 0
    created = capsys.readouterr().out
    assert wallet.main(settings, parse(["wallet", "address"])) == 0
    address = capsys.readouterr().out.strip()
    assert created.startswith(address) and (tmp_path / "wallet.json").exists()
    assert str(keystore.unlock(tmp_path / "wallet.json", PASSPHRASE).pubkey()) == address
    assert wallet.main(settings, parse(["wallet", "new"])) == 1  # never overwrites
    assert "already exists" in capsys.readouterr().err


def test_import_with_explicit_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(keystore.PASSPHRASE_ENV, PASSPHRASE)
    settings = load_settings(data_dir=tmp_path, broker_url=None, database_url=None, redis_url=None)
    keypair = Keypair()
    source = tmp_path / "id.json"
    source.write_text(json.dumps(list(bytes(keypair))))
    target = tmp_path / "elsewhere" / "w.json"
    assert wallet.main(settings, parse(["wallet", "--path", str(target), "import", str(source)])) == 0
    out = capsys.readouterr()
    assert str(keypair.pubkey()) in out.out
    assert PASSPHRASE not in out.out + out.err and str(keypair) not in out.out + out.err
    assert keystore.address(target) == str(keypair.pubkey())


def test_check_parser_accepts_balances() -> None:
    assert parse(["check", "balances"]).action == "balances"
