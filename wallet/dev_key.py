"""The development owner key: a throwaway wallet kept in `$DATA_DIR/dev-owner.json` (0600) that the API
signs with on behalf of the dashboard's one-click local sign-in (development only, docs/security.md).

The file is the Solana CLI's keypair format (a JSON array of the 64 secret-key bytes), so `solana-keygen
pubkey` reads it. It is created once, written to a temporary file with mode 0600 from the first byte and
linked into place, so two processes starting together read the same key and never a half-written one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import stat
from pathlib import Path

from solders.keypair import Keypair

from core.errors import ConfigError

log = logging.getLogger(__name__)

DEV_KEY_FILE = "dev-owner.json"


def dev_key_path(data_dir: Path) -> Path:
    return data_dir / DEV_KEY_FILE


def load_or_create(data_dir: Path) -> Keypair:
    """The development key of this data directory, made on first use."""
    path = dev_key_path(data_dir)
    if not path.exists():
        _create(path)
    return _read(path)


def address_if_present(data_dir: Path) -> str | None:
    """The key's address when its file exists and reads, without making one (for warnings)."""
    path = dev_key_path(data_dir)
    if not path.exists():
        return None
    try:
        return str(_read(path).pubkey())
    except (ConfigError, OSError):
        return None


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(list(bytes(Keypair())), f)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: theirs is the key
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read(path: Path) -> Keypair:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"bad file {path}: the development key is readable by others (mode {mode:o}); "
            f"`chmod 600 {path}` or delete it to get a new one"
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Keypair.from_bytes(bytes(raw))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"bad file {path}: not a keypair ({exc}); delete it to get a new one") from None
