"""Checkpoints are pickles, so reading one is running code: each is sealed with an HMAC-SHA256 under a
key the database never holds, and only a payload whose seal verifies is unpickled.

Someone who can write `model_checkpoints` (but not read the workers' key) can then make the model agent
retrain, never run code in it. The seal covers the checkpoint's key and River version too, so a valid
payload cannot be moved to another key. Payload layout: MAGIC, the 32-byte tag, the pickle.

The key: MODEL_CHECKPOINT_KEY when set (every worker of a deployment must share it, since any of them may
restore any partition), else the file MODEL_CHECKPOINT_KEY_FILE or `<DATA_DIR>/model-checkpoint.key` (32
random bytes, 0600), made on first use; `solbot run` gives all its workers the one in its data directory.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import tempfile
from pathlib import Path

from core.errors import ConfigError
from core.settings import Settings

log = logging.getLogger(__name__)

MAGIC = b"solbot-ckpt-hmac1\n"
TAG_LEN = 32
KEY_FILE = "model-checkpoint.key"


class CheckpointSealer:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ConfigError("bad setting MODEL_CHECKPOINT_KEY: needs at least 32 bytes")
        self._key = key

    @classmethod
    def for_settings(cls, settings: Settings) -> CheckpointSealer:
        if settings.model_checkpoint_key is not None:
            return cls(settings.model_checkpoint_key.get_secret_value().encode("utf-8"))
        return cls(key_from_file(settings.model_checkpoint_key_file or settings.data_dir / KEY_FILE))

    def __repr__(self) -> str:
        return "CheckpointSealer(<key hidden>)"

    def _tag(self, model_key: str, river_version: str, data: bytes) -> bytes:
        mac = hmac.new(self._key, digestmod=hashlib.sha256)
        for part in (model_key.encode(), river_version.encode()):
            mac.update(len(part).to_bytes(4, "big") + part)
        mac.update(data)
        return mac.digest()

    def seal(self, model_key: str, river_version: str, data: bytes) -> bytes:
        return MAGIC + self._tag(model_key, river_version, data) + data

    def open(self, model_key: str, river_version: str, payload: bytes) -> bytes | None:
        """The sealed data if its tag verifies; None (with a warning saying why) otherwise."""
        if not payload.startswith(MAGIC):
            log.warning(
                "model checkpoint %s is not sealed (written before checkpoints were authenticated): "
                "ignored, never unpickled; the model retrains",
                model_key,
            )
            return None
        tag, data = payload[len(MAGIC) : len(MAGIC) + TAG_LEN], payload[len(MAGIC) + TAG_LEN :]
        if not hmac.compare_digest(tag, self._tag(model_key, river_version, data)):
            log.error(
                "model checkpoint %s fails authentication (another key, or the row was altered): ignored, "
                "never unpickled; the model retrains",
                model_key,
            )
            return None
        return data


def key_from_file(path: Path) -> bytes:
    """The key in `path`, created (0600 from the first byte) when missing.

    Workers started together all reach here: the key is written whole to a private file and then linked
    into place, so a reader never sees it half written (an O_EXCL create followed by the write let a second
    worker read an empty file and stop on a 0-byte key)."""
    try:
        return _checked(path, path.read_bytes())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)
            log.info("model checkpoint key created: %s", path)
        except FileExistsError:  # another worker's key is in place, whole: that one is the key
            pass
    finally:
        os.unlink(tmp)
    return _checked(path, path.read_bytes())


def _checked(path: Path, key: bytes) -> bytes:
    if len(key) < 32:
        raise ConfigError(f"model checkpoint key file {path} holds {len(key)} bytes, needs at least 32")
    return key
