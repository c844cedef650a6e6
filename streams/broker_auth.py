"""How every broker client signs in: SASL/SCRAM-SHA-512 when BROKER_SASL_USERNAME and BROKER_SASL_PASSWORD
are set (compose's Redpanda, a secured Kafka), nothing otherwise (issue 19).

The options are aiokafka's keyword arguments, handed to each producer, consumer and admin client beside
the bootstrap address; Faust gets the same as its `broker_credentials` (streams/app.py). The password
leaves the settings only here, into the client that sends it: never into a log line or an error.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.settings import Settings

MECHANISM = "SCRAM-SHA-512"

# aiokafka keyword arguments; empty when the broker takes anyone.
BrokerAuth = Mapping[str, str]
NO_AUTH: BrokerAuth = {}


def broker_auth(settings: Settings) -> BrokerAuth:
    """The client options for `settings`' broker credentials (empty without them)."""
    if not settings.broker_sasl_username or settings.broker_sasl_password is None:
        return NO_AUTH
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": MECHANISM,
        "sasl_plain_username": settings.broker_sasl_username,
        "sasl_plain_password": settings.broker_sasl_password.get_secret_value(),
    }
