"""`solbot wallet new | import | address` through argparse, with the passphrase from the environment."""

from __future__ import annotations

import argparse
import json
import os
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
    assert not source.exists() and "deleted the plaintext keypair file" in out.err


def test_import_keep_plaintext_warns_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(keystore.PASSPHRASE_ENV, PASSPHRASE)
    settings = load_settings(data_dir=tmp_path, broker_url=None, database_url=None, redis_url=None)
    source = tmp_path / "id.json"
    source.write_text(json.dumps(list(bytes(Keypair()))))
    assert wallet.main(settings, parse(["wallet", "import", str(source), "--keep-plaintext"])) == 0
    assert source.exists() and "UNENCRYPTED" in capsys.readouterr().err


def test_passphrase_fd_and_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(keystore.PASSPHRASE_ENV, raising=False)
    settings = load_settings(data_dir=tmp_path, broker_url=None, database_url=None, redis_url=None)
    path = tmp_path / "wallet.json"
    with monkeypatch.context() as old:
        old.setattr(keystore, "SCRYPT_N", 2**15)
        keystore.create(path, PASSPHRASE)

    def fd_with(text: str) -> str:
        read_end, write_end = os.pipe()
        os.write(write_end, text.encode() + b"\n")
        os.close(write_end)
        return str(read_end)

    assert wallet.main(settings, parse(["wallet", "--passphrase-fd", fd_with("wrong"), "migrate"])) == 1
    assert "wrong passphrase" in capsys.readouterr().err and keystore.needs_upgrade(path)
    assert wallet.main(settings, parse(["wallet", "--passphrase-fd", fd_with(PASSPHRASE), "migrate"])) == 0
    assert "re-encrypted" in capsys.readouterr().out and not keystore.needs_upgrade(path)
    assert wallet.main(settings, parse(["wallet", "migrate"])) == 0
    assert "nothing to do" in capsys.readouterr().out
    weak = wallet.main(settings, parse(["wallet", "--path", str(tmp_path / "w2.json"), "--passphrase-fd",
                                        fd_with("hunter2"), "new"]))  # fmt: skip
    assert weak == 1 and "at least 12 characters" in capsys.readouterr().err


def test_check_parser_accepts_balances() -> None:
    assert parse(["check", "balances"]).action == "balances"
