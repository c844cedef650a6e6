"""`solbot wallet new | import FILE | address`: the encrypted keystore from the command line.

The passphrase is read from `SOLBOT_WALLET_PASSPHRASE` or a prompt, never from an option: arguments are
visible to every user in the process table and stay in shell history.
"""

from __future__ import annotations

import argparse
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
    actions = parser.add_subparsers(dest="wallet_action", required=True)
    actions.add_parser("new", help=f"generate a keypair and store it encrypted (passphrase: "
                                   f"${keystore.PASSPHRASE_ENV} or a prompt)")  # fmt: skip
    imported = actions.add_parser("import", help="encrypt a Solana CLI keypair file (JSON array of 64 bytes)")
    imported.add_argument("file", type=Path, help="the keypair file, e.g. ~/.config/solana/id.json")
    actions.add_parser("address", help="print the wallet's public address (no passphrase needed)")


def keystore_path(settings: Settings, args: argparse.Namespace) -> Path:
    path: Path | None = getattr(args, "path", None)
    return path if path is not None else settings.data_dir / "wallet.json"


def main(settings: Settings, args: argparse.Namespace) -> int:
    """Run one wallet action; errors are one line on stderr, exit code 1."""
    import sys

    path = keystore_path(settings, args)
    try:
        if args.wallet_action == "address":
            print(keystore.address(path))
            return 0
        if path.exists():  # ask before prompting, so nobody types a passphrase for nothing
            raise WalletError(f"keystore {path} already exists; refusing to overwrite a wallet")
        passphrase = keystore.read_passphrase(confirm=True)
        if args.wallet_action == "new":
            pubkey = keystore.create(path, passphrase)
        else:
            pubkey = keystore.import_keypair(path, passphrase, args.file)
    except WalletError as exc:
        print(f"solbot: {exc}", file=sys.stderr)
        return 1
    print(f"{pubkey}  (keystore {path})")
    return 0
