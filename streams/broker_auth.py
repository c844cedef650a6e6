"""How every broker client signs in: SASL/SCRAM-SHA-512 when BROKER_SASL_USERNAME and BROKER_SASL_PASSWORD
are set (compose's Redpanda, a secured Kafka), nothing otherwise (issue 19).

The options are aiokafka's keyword arguments, handed to each producer, consumer and admin client beside
the bootstrap address; Faust gets the same as its `broker_credentials` (streams/app.py). The password
leaves the settings only here, into the client that sends it: never into a log line or an error.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.settings import Settings
from services.kafka.sasl import client_options, read_credential
from services.stack_file import recorded_credential_file

MECHANISM = "SCRAM-SHA-512"

# aiokafka keyword arguments; empty when the broker takes anyone.
BrokerAuth = Mapping[str, str]
NO_AUTH: BrokerAuth = {}


def broker_auth(settings: Settings, broker_url: str | None = None) -> BrokerAuth:
    """The client options for the broker at `broker_url` (default: BROKER_URL), in this order: the
    BROKER_SASL_* settings; the credential file BROKER_SASL_CREDENTIAL_FILE names (set by `solbot run`
    for its children); the credential of the SASL broker the data dir's stack records, when that is the
    broker asked for. Otherwise none: the broker takes anyone."""
    if settings.broker_sasl_username and settings.broker_sasl_password is not None:
        return {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": MECHANISM,
            "sasl_plain_username": settings.broker_sasl_username,
            "sasl_plain_password": settings.broker_sasl_password.get_secret_value(),
        }
    path = settings.broker_sasl_credential_file or recorded_credential_file(
        settings.data_dir, broker_url or settings.broker_url
    )
    if path is None:
        return NO_AUTH
    return client_options(read_credential(path))
