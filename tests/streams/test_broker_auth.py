"""Broker clients sign in with SASL/SCRAM-SHA-512 when BROKER_SASL_USERNAME/PASSWORD are set."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from core.settings import Settings
from streams.app import build_app
from streams.broker_auth import broker_auth


def test_no_credentials_no_options() -> None:
    assert broker_auth(Settings(_env_file=None)) == {}  # type: ignore[call-arg]
    assert broker_auth(Settings(_env_file=None, broker_sasl_username="solbot")) == {}  # type: ignore[call-arg]


def test_credentials_become_scram_options_and_faust_credentials(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        broker_sasl_username="solbot",
        broker_sasl_password=SecretStr("s3cret-" + "x" * 20),
        data_dir=tmp_path,
    )
    assert broker_auth(settings) == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "solbot",
        "sasl_plain_password": "s3cret-" + "x" * 20,
    }
    assert "s3cret" not in repr(settings)
    credentials = build_app(settings).conf.broker_credentials
    assert credentials is not None
    assert (credentials.username, credentials.password) == ("solbot", "s3cret-" + "x" * 20)
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    without = settings.model_copy(update={"broker_sasl_password": None})
    assert build_app(without).conf.broker_credentials is None
