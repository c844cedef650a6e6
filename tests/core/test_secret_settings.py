"""Every secret setting is hidden when a bad value is reported (the rejected input is the raw string)."""

from __future__ import annotations

import subprocess
import sys

from pydantic import SecretStr

from core.config import SECRET_FIELDS
from core.settings import Settings


def test_every_secret_str_setting_is_listed_as_secret() -> None:
    secrets = {
        n for n, f in Settings.model_fields.items() if SecretStr in getattr(f.annotation, "__args__", ())
    }
    assert secrets and secrets <= SECRET_FIELDS


def test_config_check_names_a_bad_secret_without_its_value() -> None:
    env = {"METRICS_TOKEN": "tooshort-but-secret", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "solbot.cli", "config", "check"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2 and "METRICS_TOKEN" in proc.stderr
    assert "tooshort-but-secret" not in proc.stderr + proc.stdout and "<hidden>" in proc.stderr
