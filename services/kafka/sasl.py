"""SASL/SCRAM-SHA-512 on the embedded Kafka: whoever reaches its port must sign in (issue 19).

The client listener takes SCRAM-SHA-512 only; the controller listener, which SCRAM cannot guard in KRaft
(the credentials live in the metadata the controller serves), takes PLAIN with a static user. Two SCRAM
users are written into the storage when it is formatted (`kafka-storage format --add-scram`, KIP-900):
`admin` (the broker's own inter-broker connections) and `solbot` (every client of the bot). Their
passwords are generated once per data dir and kept in `<data_dir>/kafka/credential.json` (mode 0600).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ServiceError

MECHANISM = "SCRAM-SHA-512"
CLIENT_USER = "solbot"
ADMIN_USER = "admin"
CREDENTIAL_FILE = "credential.json"


@dataclass(frozen=True)
class BrokerCredential:
    """The embedded broker's users; repr never shows a password."""

    username: str
    password: str = field(repr=False)
    admin_password: str = field(repr=False)


def write_private(path: Path, text: str) -> None:
    """Write `text` readable by this user only, from the first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(path, 0o600)


def credential_for(kdir: Path, *, formatting: bool) -> BrokerCredential:
    """The data dir's credential: made when its storage is about to be formatted, read afterwards.

    A data dir formatted without SASL has no SCRAM users (they are written only at format time): refused
    with one line rather than a broker nobody can sign in to."""
    path = kdir / CREDENTIAL_FILE
    if path.exists():
        return read_credential(path)
    if not formatting:
        raise ServiceError(
            f"the Kafka data in {kdir} was formatted without SASL, so it has no SCRAM users; use another "
            "DATA_DIR or set EMBEDDED_BROKER_SASL=false"
        )
    made = BrokerCredential(CLIENT_USER, secrets.token_urlsafe(32), secrets.token_urlsafe(32))
    write_private(
        path,
        json.dumps(
            {"username": made.username, "password": made.password, "admin_password": made.admin_password}
        ),
    )
    return made


def read_credential(path: Path) -> BrokerCredential:
    """The credential kept in `path`; a missing or damaged file is one line naming it (never its content)."""
    try:
        saved = json.loads(path.read_text())
        return BrokerCredential(saved["username"], saved["password"], saved.get("admin_password", ""))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ServiceError(f"cannot read the broker credential in {path} ({type(exc).__name__})") from None


def format_arguments(credential: BrokerCredential) -> list[str]:
    """`kafka-storage format` arguments that write both SCRAM users into the bootstrap metadata."""
    return [
        "--add-scram",
        f"{MECHANISM}=[name={ADMIN_USER},password={credential.admin_password}]",
        "--add-scram",
        f"{MECHANISM}=[name={credential.username},password={credential.password}]",
    ]


def listener_properties(port: int, controller_port: int, credential: BrokerCredential) -> dict[str, str]:
    """Listener settings of a SASL-only broker (they replace the PLAINTEXT ones)."""
    admin = credential.admin_password
    scram_login = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{ADMIN_USER}" password="{admin}";'
    )
    plain_login = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{ADMIN_USER}" password="{admin}" user_{ADMIN_USER}="{admin}";'
    )
    return {
        "listeners": f"SASL_PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        "listener.name.sasl_plaintext.sasl.enabled.mechanisms": MECHANISM,
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": scram_login,
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": plain_login,
    }


def client_options(credential: BrokerCredential) -> dict[str, str]:
    """aiokafka keyword arguments that sign in as the bot's user."""
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": MECHANISM,
        "sasl_plain_username": credential.username,
        "sasl_plain_password": credential.password,
    }
