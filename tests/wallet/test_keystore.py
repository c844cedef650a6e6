"""The encrypted keystore: round trip, wrong passphrase, tampering, permissions, and no secret leaks."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import stat
from pathlib import Path

import pytest
from solders.keypair import Keypair

from core.errors import SolbotError
from wallet import keystore
from wallet.keystore import Passphrase, WalletError

PASSPHRASE = "correct horse battery staple 7f3a"


def secret_encodings(keypair: Keypair) -> dict[str, bytes]:
    """Every way the secret could plausibly end up in a file or a log line."""
    full = bytes(keypair)
    seed = full[:32]
    return {
        "raw64": full,
        "raw32": seed,
        "base58": str(keypair).encode(),
        "hex64": full.hex().encode(),
        "hex32": seed.hex().encode(),
        "base64_64": base64.b64encode(full),
        "base64_32": base64.b64encode(seed),
        "json_array": json.dumps(list(full)).encode(),
        "json_array_compact": json.dumps(list(full), separators=(",", ":")).encode(),
    }


def test_create_unlock_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "wallet.json"
    pubkey = keystore.create(path, PASSPHRASE)
    assert keystore.address(path) == str(pubkey)
    keypair = keystore.unlock(path, PASSPHRASE)
    assert keypair.pubkey() == pubkey
    message = b"solbot"
    assert keypair.sign_message(message).verify(pubkey, message)


def test_file_format_is_versioned_json_with_kdf_params(tmp_path: Path) -> None:
    path = tmp_path / "wallet.json"
    pubkey = keystore.create(path, Passphrase(PASSPHRASE))
    document = json.loads(path.read_text())
    assert document["version"] == 1
    assert document["address"] == str(pubkey)
    assert document["kdf"]["name"] == "scrypt"
    assert (document["kdf"]["n"], document["kdf"]["r"], document["kdf"]["p"]) == (2**17, 8, 1)  # OWASP floor
    assert len(base64.b64decode(document["kdf"]["salt"])) == 16
    assert document["cipher"]["name"] == "aes-256-gcm"
    assert len(base64.b64decode(document["cipher"]["nonce"])) == 12
    assert len(base64.b64decode(document["cipher"]["ciphertext"])) == 32 + 16  # seed + GCM tag


def test_file_mode_is_0600(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "wallet.json"
    keystore.create(path, PASSPHRASE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["wallet.json"]  # no temp file left behind


def test_two_wallets_use_fresh_salt_and_nonce(tmp_path: Path) -> None:
    keystore.create(tmp_path / "a.json", PASSPHRASE)
    keystore.create(tmp_path / "b.json", PASSPHRASE)
    first, second = keystore.read(tmp_path / "a.json"), keystore.read(tmp_path / "b.json")
    assert first.salt != second.salt and first.nonce != second.nonce and first.address != second.address


def test_wrong_passphrase_raises_wallet_error(tmp_path: Path) -> None:
    path = tmp_path / "wallet.json"
    keystore.create(path, PASSPHRASE)
    with pytest.raises(WalletError, match="wrong passphrase") as caught:
        keystore.unlock(path, "not the passphrase")
    assert isinstance(caught.value, SolbotError)
    assert "not the passphrase" not in str(caught.value)


@pytest.mark.parametrize("field", ["ciphertext", "nonce", "address", "n"])
def test_tampering_fails_authentication(tmp_path: Path, field: str) -> None:
    path = tmp_path / "wallet.json"
    keystore.create(path, PASSPHRASE)
    document = json.loads(path.read_text())
    if field == "ciphertext":
        raw = bytearray(base64.b64decode(document["cipher"]["ciphertext"]))
        raw[3] ^= 0x01
        document["cipher"]["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    elif field == "nonce":
        raw = bytearray(base64.b64decode(document["cipher"]["nonce"]))
        raw[0] ^= 0x80
        document["cipher"]["nonce"] = base64.b64encode(bytes(raw)).decode()
    elif field == "address":  # advertising someone else's address must not go unnoticed
        document["address"] = str(Keypair().pubkey())
    else:
        document["kdf"]["n"] = 2**14
    path.write_text(json.dumps(document))
    with pytest.raises(WalletError, match="wrong passphrase, or the file was modified"):
        keystore.unlock(path, PASSPHRASE)


def test_file_contains_no_secret_in_any_encoding(tmp_path: Path) -> None:
    source = tmp_path / "id.json"
    keypair = Keypair()
    source.write_text(json.dumps(list(bytes(keypair))))
    path = tmp_path / "wallet.json"
    keystore.import_keypair(path, PASSPHRASE, source)
    content = path.read_bytes()
    for name, encoded in secret_encodings(keypair).items():
        assert encoded not in content, name
    assert PASSPHRASE.encode() not in content


def test_solana_cli_keypair_import(tmp_path: Path) -> None:
    keypair = Keypair()
    source = tmp_path / "id.json"
    source.write_text(json.dumps(list(bytes(keypair))))  # what `solana-keygen new -o id.json` writes
    path = tmp_path / "wallet.json"
    assert keystore.import_keypair(path, PASSPHRASE, source) == keypair.pubkey()
    assert keystore.address(path) == str(keypair.pubkey())
    assert bytes(keystore.unlock(path, PASSPHRASE)) == bytes(keypair)


@pytest.mark.parametrize(
    "content",
    ["not json", "[1, 2, 3]", json.dumps([256] * 64), json.dumps({"secret": [0] * 64})],
)
def test_import_rejects_bad_keypair_files(tmp_path: Path, content: str) -> None:
    source = tmp_path / "id.json"
    source.write_text(content)
    with pytest.raises(WalletError, match="keypair file"):
        keystore.import_keypair(tmp_path / "wallet.json", PASSPHRASE, source)
    assert not (tmp_path / "wallet.json").exists()


def test_import_rejects_mismatched_public_key(tmp_path: Path) -> None:
    data = bytes(Keypair())[:32] + bytes(Keypair().pubkey())
    source = tmp_path / "id.json"
    source.write_text(json.dumps(list(data)))
    with pytest.raises(WalletError, match="does not match") as caught:
        keystore.import_keypair(tmp_path / "wallet.json", PASSPHRASE, source)
    assert data[:32].hex() not in str(caught.value)


def test_never_overwrites_an_existing_wallet(tmp_path: Path) -> None:
    path = tmp_path / "wallet.json"
    first = keystore.create(path, PASSPHRASE)
    with pytest.raises(WalletError, match="already exists"):
        keystore.create(path, PASSPHRASE)
    assert keystore.address(path) == str(first)


def test_empty_passphrase_refused(tmp_path: Path) -> None:
    with pytest.raises(WalletError, match="must not be empty"):
        keystore.create(tmp_path / "wallet.json", "")


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(WalletError, match="does not exist"):
        keystore.address(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 1, "kdf": {"name": "scrypt", "dklen": 32, "n": 2**40}}))
    with pytest.raises(WalletError):
        keystore.unlock(bad, PASSPHRASE)


def test_secrets_never_in_logs_exceptions_or_reprs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    keypair = Keypair()
    source = tmp_path / "id.json"
    source.write_text(json.dumps(list(bytes(keypair))))
    path = tmp_path / "wallet.json"
    keystore.import_keypair(path, PASSPHRASE, source)
    keystore.unlock(path, PASSPHRASE)
    texts: list[str] = []
    for attempt in (
        lambda: keystore.unlock(path, PASSPHRASE + "x"),
        lambda: keystore.import_keypair(path, PASSPHRASE, source),  # exists already
        lambda: keystore.create(tmp_path / "other.json", ""),
    ):
        with pytest.raises(WalletError) as caught:
            attempt()
        texts += [str(caught.value), repr(caught.value), repr(caught.value.__cause__)]
    texts += [repr(Passphrase(PASSPHRASE)), str(Passphrase(PASSPHRASE)), repr(keystore.read(path))]
    texts.append(caplog.text)
    assert "unlocked" in caplog.text and "imported" in caplog.text  # the log lines did happen
    everything = "\n".join(texts)
    assert PASSPHRASE not in everything
    for name, encoded in secret_encodings(keypair).items():
        if name.startswith("raw"):
            continue
        assert encoded.decode() not in everything, name


def test_passphrase_from_environment_warns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(keystore.PASSPHRASE_ENV, PASSPHRASE)
    assert keystore.read_passphrase().reveal() == PASSPHRASE.encode()
    assert "--passphrase-fd" in caplog.text and PASSPHRASE not in caplog.text


def test_passphrase_from_file_descriptor_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keystore.PASSPHRASE_ENV, "not this one")
    read_end, write_end = os.pipe()
    os.write(write_end, PASSPHRASE.encode() + b"\nsecond line ignored\n")
    os.close(write_end)
    try:
        assert keystore.read_passphrase(fd=read_end).reveal() == PASSPHRASE.encode()
    finally:
        os.close(read_end)
    with pytest.raises(WalletError, match="file descriptor 987"):
        keystore.read_passphrase(fd=987)


@pytest.mark.parametrize("weak", ["short1A!", "password1234", "aaaaaaaaaaaaaaaaaaaa", "abcdefghijkl"])
def test_weak_passphrases_refused_for_new_keystores(tmp_path: Path, weak: str) -> None:
    with pytest.raises(WalletError, match="passphrase"):
        keystore.create(tmp_path / "wallet.json", weak)
    assert not (tmp_path / "wallet.json").exists()


def test_old_keystore_unlocks_and_is_re_encrypted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "wallet.json"
    with monkeypatch.context() as old:
        old.setattr(keystore, "SCRYPT_N", 2**15)  # what keystores were sealed with before
        pubkey = keystore.create(path, PASSPHRASE)
    assert keystore.read(path).n == 2**15 and keystore.needs_upgrade(path)
    assert keystore.unlock(path, PASSPHRASE).pubkey() == pubkey
    assert keystore.read(path).n == 2**17 and not keystore.needs_upgrade(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keystore.unlock(path, PASSPHRASE).pubkey() == pubkey
    assert not list(tmp_path.glob(".*.tmp"))


def test_passphrase_prompt_confirms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(keystore.PASSPHRASE_ENV, raising=False)
    answers = iter(["first", "second"])
    monkeypatch.setattr(keystore.sys, "stdin", _Terminal())
    monkeypatch.setattr(keystore.getpass, "getpass", lambda prompt="": next(answers))
    with pytest.raises(WalletError, match="do not match"):
        keystore.read_passphrase(confirm=True)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_terminal_and_no_passphrase_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a terminal getpass would echo the passphrase or die on end of input: refuse instead."""
    monkeypatch.delenv(keystore.PASSPHRASE_ENV, raising=False)
    monkeypatch.setattr(keystore.sys, "stdin", io.StringIO())
    with pytest.raises(WalletError, match=f"no terminal.*{keystore.PASSPHRASE_ENV}"):
        keystore.read_passphrase(confirm=True)
