"""A Solana keypair encrypted at rest: AES-256-GCM under a scrypt key derived from a passphrase.

File format (JSON, UTF-8, mode 0600), version 1::

    {
      "version": 1,
      "address": "<base58 public key, in clear so `address` needs no passphrase>",
      "kdf": {"name": "scrypt", "n": 131072, "r": 8, "p": 1, "dklen": 32, "salt": "<base64, 16 bytes>"},
      "cipher": {"name": "aes-256-gcm", "nonce": "<base64, 12 bytes>", "ciphertext": "<base64>"}
    }

The plaintext is the 32-byte ed25519 seed (the public key is derived from it). The associated data of
the GCM seal is the canonical JSON of everything but the ciphertext, so editing the address, the KDF
parameters or the nonce fails authentication just like editing the ciphertext: a keystore whose clear
address was swapped can never unlock to a different key than it advertises.

Secrets never leave this module except as the `Keypair` that `unlock` returns: no log line, repr or
exception text carries the passphrase, the seed or the secret key (`str(Keypair)` is the base58
secret key, so callers must never format a Keypair either). Wrong passphrase and tampering are one
error on purpose: GCM cannot tell them apart, and saying which would help nobody but an attacker.
"""

from __future__ import annotations

import base64
import getpass
import json
import logging
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from core.errors import SolbotError
from wallet.strength import weakness

log = logging.getLogger(__name__)

VERSION = 1
PASSPHRASE_ENV = "SOLBOT_WALLET_PASSPHRASE"
SCRYPT_N = 2**17  # OWASP's floor for scrypt with r=8, p=1 (128 MiB, ~0.3 s per unlock)
# Keystores written before N=2^17 (N=2^15) still unlock; `unlock` then re-encrypts them at SCRYPT_N.
SCRYPT_R = 8
SCRYPT_P = 1
KEY_LEN = 32
SALT_LEN = 16
NONCE_LEN = 12
SEED_LEN = 32
# Bounds on KDF parameters read from a file, so a hostile file cannot make `unlock` allocate gigabytes.
_MAX_N = 2**20
_MAX_RP = 16


class WalletError(SolbotError):
    """The keystore is missing, malformed, locked with another passphrase, or would be overwritten."""


class Passphrase:
    """A passphrase that will not show itself in a repr, a log line or a traceback's locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> bytes:
        return self._value.encode("utf-8")

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Passphrase(<hidden>)"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class KeystoreFile:
    """The parsed file: public fields and the sealed seed (ciphertext is not secret, but never shown)."""

    address: str
    n: int
    r: int
    p: int
    salt: bytes
    nonce: bytes
    ciphertext: bytes

    def header(self) -> dict[str, Any]:
        """Everything but the ciphertext: what the GCM seal authenticates alongside it."""
        return {
            "version": VERSION,
            "address": self.address,
            "kdf": {
                "name": "scrypt",
                "n": self.n,
                "r": self.r,
                "p": self.p,
                "dklen": KEY_LEN,
                "salt": _b64(self.salt),
            },
            "cipher": {"name": "aes-256-gcm", "nonce": _b64(self.nonce)},
        }

    def associated_data(self) -> bytes:
        return json.dumps(self.header(), sort_keys=True, separators=(",", ":")).encode("utf-8")

    def to_json(self) -> str:
        document = self.header()
        document["cipher"]["ciphertext"] = _b64(self.ciphertext)
        return json.dumps(document, indent=2) + "\n"

    def __repr__(self) -> str:
        return f"KeystoreFile(address={self.address!r}, kdf=scrypt(n={self.n}, r={self.r}, p={self.p}))"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, length: int | None, what: str, path: Path) -> bytes:
    if not isinstance(value, str):
        raise WalletError(f"keystore {path}: {what} is not a base64 string")
    try:
        data = base64.b64decode(value, validate=True)
    except ValueError:
        raise WalletError(f"keystore {path}: {what} is not valid base64") from None
    if length is not None and len(data) != length:
        raise WalletError(f"keystore {path}: {what} must be {length} bytes, not {len(data)}")
    return data


def _as_passphrase(passphrase: str | Passphrase) -> Passphrase:
    return passphrase if isinstance(passphrase, Passphrase) else Passphrase(passphrase)


def _derive(passphrase: Passphrase, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=KEY_LEN, n=n, r=r, p=p).derive(passphrase.reveal())


def _seal(keypair: Keypair, passphrase: Passphrase) -> KeystoreFile:
    unsealed = KeystoreFile(
        address=str(keypair.pubkey()),
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        salt=secrets.token_bytes(SALT_LEN),
        nonce=secrets.token_bytes(NONCE_LEN),
        ciphertext=b"",
    )
    key = _derive(passphrase, unsealed.salt, unsealed.n, unsealed.r, unsealed.p)
    seed = bytes(keypair.secret())
    ciphertext = AESGCM(key).encrypt(unsealed.nonce, seed, unsealed.associated_data())
    return KeystoreFile(
        address=unsealed.address,
        n=unsealed.n,
        r=unsealed.r,
        p=unsealed.p,
        salt=unsealed.salt,
        nonce=unsealed.nonce,
        ciphertext=ciphertext,
    )


def _write_temp(path: Path, sealed: KeystoreFile) -> Path:
    """`sealed` in a fresh 0600 file beside `path` (0600 from the first byte, never chmod after the fact),
    flushed to disk: the caller links or renames it into place and removes it in any case."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(sealed.to_json())
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)  # the umask can only remove bits, but be explicit
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _write_new(path: Path, sealed: KeystoreFile) -> None:
    """Create the keystore, refusing to overwrite one."""
    if path.exists():
        raise WalletError(f"keystore {path} already exists; refusing to overwrite a wallet")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_temp(path, sealed)
    try:
        os.link(tmp, path)  # atomic and fails if `path` appeared meanwhile, unlike rename
    except FileExistsError:
        raise WalletError(f"keystore {path} already exists; refusing to overwrite a wallet") from None
    finally:
        tmp.unlink(missing_ok=True)


def read(path: str | os.PathLike[str]) -> KeystoreFile:
    """Parse and validate a keystore file without decrypting it."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WalletError(f"keystore {path} does not exist (create one with `solbot wallet new`)") from None
    except (OSError, ValueError) as exc:
        raise WalletError(f"keystore {path} is not readable JSON: {type(exc).__name__}") from None
    if not isinstance(document, Mapping) or document.get("version") != VERSION:
        raise WalletError(f"keystore {path}: unsupported format (expected version {VERSION})")
    kdf, cipher = document.get("kdf"), document.get("cipher")
    if not isinstance(kdf, Mapping) or kdf.get("name") != "scrypt" or kdf.get("dklen") != KEY_LEN:
        raise WalletError(f"keystore {path}: kdf must be scrypt with dklen {KEY_LEN}")
    if not isinstance(cipher, Mapping) or cipher.get("name") != "aes-256-gcm":
        raise WalletError(f"keystore {path}: cipher must be aes-256-gcm")
    n, r, p = kdf.get("n"), kdf.get("r"), kdf.get("p")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (n, r, p)):
        raise WalletError(f"keystore {path}: scrypt n, r, p must be integers")
    assert isinstance(n, int) and isinstance(r, int) and isinstance(p, int)
    if not (2 <= n <= _MAX_N and n & (n - 1) == 0 and 1 <= r <= _MAX_RP and 1 <= p <= _MAX_RP):
        raise WalletError(f"keystore {path}: scrypt parameters out of range")
    address = document.get("address")
    try:
        Pubkey.from_string(address if isinstance(address, str) else "")
    except ValueError:
        raise WalletError(f"keystore {path}: address is not a base58 public key") from None
    assert isinstance(address, str)
    return KeystoreFile(
        address=address,
        n=n,
        r=r,
        p=p,
        salt=_unb64(kdf.get("salt"), SALT_LEN, "kdf salt", path),
        nonce=_unb64(cipher.get("nonce"), NONCE_LEN, "cipher nonce", path),
        ciphertext=_unb64(cipher.get("ciphertext"), SEED_LEN + 16, "ciphertext", path),
    )


def create(path: str | os.PathLike[str], passphrase: str | Passphrase) -> Pubkey:
    """Generate a new keypair and store it encrypted at `path`; returns its public key."""
    return _store(Path(path), Keypair(), _as_passphrase(passphrase), "created")


def import_keypair(
    path: str | os.PathLike[str], passphrase: str | Passphrase, source_file: str | os.PathLike[str]
) -> Pubkey:
    """Encrypt a Solana CLI keypair file (a JSON array of 64 byte values: seed then public key)."""
    source = Path(source_file)
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        # The parser's message can quote the file; only the exception type is safe to show.
        raise WalletError(f"keypair file {source} is not readable JSON: {type(exc).__name__}") from None
    if (
        not isinstance(raw, list)
        or len(raw) != 64
        or not all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in raw)
    ):
        raise WalletError(f"keypair file {source} is not a Solana CLI keypair (a JSON array of 64 bytes)")
    data = bytes(raw)
    keypair = Keypair.from_seed(data[:SEED_LEN])
    if bytes(keypair.pubkey()) != data[SEED_LEN:]:
        raise WalletError(f"keypair file {source}: its public key does not match its secret key")
    return _store(Path(path), keypair, _as_passphrase(passphrase), f"imported from {source}")


def _store(path: Path, keypair: Keypair, passphrase: Passphrase, how: str) -> Pubkey:
    if not passphrase:
        raise WalletError("the wallet passphrase must not be empty")
    reason = weakness(passphrase.reveal().decode("utf-8"))
    if reason is not None:
        raise WalletError(reason)
    _write_new(path, _seal(keypair, passphrase))
    log.info("wallet keystore %s %s for address %s", path, how, keypair.pubkey())
    return keypair.pubkey()


def address(path: str | os.PathLike[str]) -> str:
    """The wallet's public address, read from the clear part of the file (no passphrase)."""
    return read(path).address


def unlock(path: str | os.PathLike[str], passphrase: str | Passphrase) -> Keypair:
    """Decrypt the keypair; a wrong passphrase or any edit to the file raises `WalletError`."""
    sealed = read(path)
    key = _derive(_as_passphrase(passphrase), sealed.salt, sealed.n, sealed.r, sealed.p)
    try:
        seed = AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, sealed.associated_data())
    except InvalidTag:
        raise WalletError(f"keystore {path}: wrong passphrase, or the file was modified") from None
    keypair = Keypair.from_seed(seed)
    if str(keypair.pubkey()) != sealed.address:  # unreachable unless the sealing code is wrong
        raise WalletError(f"keystore {path}: decrypted key does not match the stored address")
    log.info("wallet %s unlocked", sealed.address)
    if sealed.n < SCRYPT_N:
        _rewrite(Path(path), _seal(keypair, _as_passphrase(passphrase)))
        log.warning("wallet %s re-encrypted: scrypt N %d -> %d", sealed.address, sealed.n, SCRYPT_N)
    return keypair


def needs_upgrade(path: str | os.PathLike[str]) -> bool:
    """True for a keystore sealed with weaker scrypt parameters than new ones get."""
    return read(path).n < SCRYPT_N


def _rewrite(path: Path, sealed: KeystoreFile) -> None:
    """Replace the keystore atomically (a crash leaves the old file or the new one, never half of one)."""
    tmp = _write_temp(path, sealed)
    try:
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_passphrase(
    *, confirm: bool = False, prompt: str = "Wallet passphrase: ", fd: int | None = None
) -> Passphrase:
    """From file descriptor `fd` (its first line: `--passphrase-fd 3 3<secret-file`), else
    `SOLBOT_WALLET_PASSPHRASE` (with a warning: the environment is readable in /proc and inherited by
    every child), else an interactive prompt. Never a command-line argument (the process table and the
    shell history would show it)."""
    if fd is not None:
        return _passphrase_from_fd(fd)
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env is not None:
        log.warning(
            "wallet passphrase taken from %s: prefer a prompt or --passphrase-fd (the environment is "
            "readable in /proc/<pid>/environ and inherited by child processes)",
            PASSPHRASE_ENV,
        )
        return Passphrase(from_env)
    if not sys.stdin.isatty():  # getpass would fall back to echoing the passphrase, or hit end of input
        raise WalletError(f"no terminal to ask for the passphrase: set {PASSPHRASE_ENV}")
    first = Passphrase(getpass.getpass(prompt))
    if confirm and Passphrase(getpass.getpass("Repeat passphrase: ")).reveal() != first.reveal():
        raise WalletError("the passphrases do not match")
    return first


def _passphrase_from_fd(fd: int) -> Passphrase:
    chunks = []
    try:
        while chunk := os.read(fd, 4096):
            chunks.append(chunk)
            if b"\n" in chunk or sum(map(len, chunks)) > 4096:
                break
    except OSError as exc:
        raise WalletError(f"cannot read the passphrase from file descriptor {fd}: {exc.strerror}") from None
    line = b"".join(chunks).split(b"\n", 1)[0].removesuffix(b"\r")
    try:
        return Passphrase(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise WalletError(f"the passphrase on file descriptor {fd} is not UTF-8") from None
