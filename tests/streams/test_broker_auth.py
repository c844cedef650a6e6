"""Broker clients sign in with SASL/SCRAM-SHA-512 when BROKER_SASL_USERNAME/PASSWORD are set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from core.errors import ServiceError
from core.settings import Settings
from services.kafka.sasl import write_private
from services.stack import Stack
from services.stack_file import STATE_NAME, Component, write_state
from streams.app import build_app
from streams.broker_auth import broker_auth


def test_no_credentials_no_options(tmp_path: Path) -> None:
    assert broker_auth(Settings(_env_file=None, data_dir=tmp_path)) == {}  # type: ignore[call-arg]
    only_user = Settings(_env_file=None, data_dir=tmp_path, broker_sasl_username="solbot")  # type: ignore[call-arg]
    assert broker_auth(only_user) == {}


def _credential(path: Path, password: str) -> Path:
    write_private(path, json.dumps({"username": "solbot", "password": password, "admin_password": "a"}))
    return path


def test_the_stack_hands_children_the_credential_by_path(tmp_path: Path) -> None:
    """`solbot run`'s children get BROKER_SASL_CREDENTIAL_FILE (a 0600 file's path), never the password."""
    password = "p-" + "y" * 30
    path = _credential(tmp_path / "credential.json", password)
    stack = Stack(Settings(_env_file=None, data_dir=tmp_path))  # type: ignore[call-arg]
    stack.components["broker"] = Component("broker", "kafka://127.0.0.1:9", credential_file=str(path))
    env = stack.env()
    assert env["BROKER_SASL_CREDENTIAL_FILE"] == str(path)
    assert all(password not in value for value in env.values())
    child = Settings(_env_file=None, data_dir=tmp_path / "worker-0", **{k.lower(): v for k, v in env.items()})
    auth = broker_auth(child)
    assert (auth["sasl_plain_username"], auth["sasl_plain_password"]) == ("solbot", password)
    assert build_app(child).conf.broker_credentials is not None  # the worker's Faust app signs in too


def test_a_hand_run_command_finds_the_data_dirs_credential(tmp_path: Path) -> None:
    """`solbot worker`/`topics`/`web` against a data dir whose stack runs a SASL broker sign in with its
    credential; a command pointed at another broker does not send it there."""
    password = "q-" + "z" * 30
    path = _credential(tmp_path / "credential.json", password)
    url = "kafka://127.0.0.1:4242"
    write_state(tmp_path / STATE_NAME, {"broker": Component("broker", url, credential_file=str(path))})
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert broker_auth(settings)["sasl_plain_password"] == password  # no BROKER_URL: the stack's broker
    assert broker_auth(settings, url)["sasl_plain_password"] == password
    assert broker_auth(settings.model_copy(update={"broker_url": url}))["sasl_plain_password"] == password
    assert broker_auth(settings, "kafka://10.0.0.5:9092") == {}  # another broker never gets it
    explicit = settings.model_copy(
        update={"broker_sasl_username": "ops", "broker_sasl_password": SecretStr("explicit-" + "w" * 20)}
    )
    assert broker_auth(explicit, url)["sasl_plain_username"] == "ops"  # BROKER_SASL_* win


def test_a_damaged_credential_file_is_one_line_without_its_content(tmp_path: Path) -> None:
    path = tmp_path / "credential.json"
    write_private(path, '{"username": "solbot", "pass')
    settings = Settings(_env_file=None, data_dir=tmp_path, broker_sasl_credential_file=path)  # type: ignore[call-arg]
    with pytest.raises(ServiceError, match=r"cannot read the broker credential in .*credential\.json") as err:
        broker_auth(settings)
    assert '"username"' not in str(err.value)  # the file's content is never echoed


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
