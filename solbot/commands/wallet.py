"""`solbot wallet new | import FILE | address | migrate`: the encrypted keystore from the command line.

The passphrase comes from a prompt or `--passphrase-fd N` (its first line), or, with a warning, from
`SOLBOT_WALLET_PASSPHRASE`; never from an option's value: arguments are visible to every user in the
process table and stay in shell history.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core.settings import Settings
from wallet import keystore
from wallet.keystore import WalletError


def add_parser(subparsers: Any) -> None:
    """Add `wallet` to the `solbot` sub-commands (`subparsers` is argparse's `_SubParsersAction`)."""
    parser = subparsers.add_parser("wallet", help="the encrypted wallet keystore")
    parser.add_argument(
        "--path", type=Path, default=None, help="keystore file (default: <data dir>/wallet.json)"
    )
    parser.add_argument(
        "--passphrase-fd", type=int, default=None, metavar="N",
        help="read the passphrase from file descriptor N (first line), e.g. `--passphrase-fd 3 3<file`",
    )  # fmt: skip
    actions = parser.add_subparsers(dest="wallet_action", required=True)
    actions.add_parser("new", help="generate a keypair and store it encrypted")
    imported = actions.add_parser(
        "import", help="encrypt a Solana CLI keypair file (JSON array of 64 bytes), then delete the file"
    )
    imported.add_argument("file", type=Path, help="the keypair file, e.g. ~/.config/solana/id.json")
    imported.add_argument(
        "--keep-plaintext", action="store_true",
        help="keep the unencrypted keypair file (anyone who reads it owns the wallet)",
    )  # fmt: skip
    actions.add_parser("address", help="print the wallet's public address (no passphrase needed)")
    actions.add_parser("migrate", help="re-encrypt a keystore made with older, weaker scrypt parameters")


def keystore_path(settings: Settings, args: argparse.Namespace) -> Path:
    path: Path | None = getattr(args, "path", None)
    return path if path is not None else settings.data_dir / "wallet.json"


def main(settings: Settings, args: argparse.Namespace) -> int:
    """Run one wallet action; errors are one line on stderr, exit code 1."""
    path = keystore_path(settings, args)
    fd: int | None = getattr(args, "passphrase_fd", None)
    try:
        if args.wallet_action == "address":
            print(keystore.address(path))
            return 0
        if args.wallet_action == "migrate":
            return migrate(path, fd)
        if path.exists():  # ask before prompting, so nobody types a passphrase for nothing
            raise WalletError(f"keystore {path} already exists; refusing to overwrite a wallet")
        passphrase = keystore.read_passphrase(confirm=True, fd=fd)
        if args.wallet_action == "new":
            pubkey = keystore.create(path, passphrase)
        else:
            pubkey = keystore.import_keypair(path, passphrase, args.file)
            dispose_plaintext(args.file, keep=args.keep_plaintext)
    except WalletError as exc:
        print(f"solbot: {exc}", file=sys.stderr)
        return 1
    print(f"{pubkey}  (keystore {path})")
    return 0


def migrate(path: Path, fd: int | None) -> int:
    if not keystore.needs_upgrade(path):
        print(f"keystore {path} already uses scrypt N={keystore.SCRYPT_N}; nothing to do")
        return 0
    keypair = keystore.unlock(path, keystore.read_passphrase(fd=fd))  # unlock re-encrypts it
    print(f"{keypair.pubkey()}  (keystore {path} re-encrypted with scrypt N={keystore.SCRYPT_N})")
    return 0


def dispose_plaintext(source: Path, *, keep: bool) -> None:
    """The keypair is encrypted now: the plaintext copy goes, unless the user insists, loudly."""
    if keep:
        print(
            f"solbot: WARNING: {source} still holds the wallet's secret key UNENCRYPTED (--keep-plaintext); "
            "anyone who can read it can spend the wallet's funds. Delete it once it is backed up safely.",
            file=sys.stderr,
        )
        return
    try:
        source.unlink()
    except OSError as exc:
        print(
            f"solbot: WARNING: could not delete the plaintext keypair file {source} ({exc.strerror}); "
            "delete it by hand: it holds the secret key unencrypted",
            file=sys.stderr,
        )
        return
    print(
        f"solbot: deleted the plaintext keypair file {source} (the keystore holds the key now)",
        file=sys.stderr,
    )
