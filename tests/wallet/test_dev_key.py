"""The development owner key: made once per data directory, 0600, one key even when processes race."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from core.errors import ConfigError
from wallet import dev_key


def test_dev_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    first = dev_key.load_or_create(tmp_path)
    assert dev_key.load_or_create(tmp_path).pubkey() == first.pubkey()
    path = dev_key.dev_key_path(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert dev_key.address_if_present(tmp_path) == str(first.pubkey())
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        dev_key.load_or_create(tmp_path)


def test_dev_key_made_by_racing_processes_is_one_key(tmp_path: Path) -> None:
    keys: list[str] = []
    threads = [
        threading.Thread(target=lambda: keys.append(str(dev_key.load_or_create(tmp_path).pubkey())))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1 and len(keys) == 8
