"""The embedded Kafka with SASL/SCRAM-SHA-512: a client without the data dir's credential is refused, one
with it produces and consumes, and the credential is the data dir's own, kept private and reused."""

from __future__ import annotations

import asyncio
import json
import stat
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from core.errors import ServiceError
from services.kafka import start_kafka
from services.kafka.sasl import CREDENTIAL_FILE, client_options
from services.process import terminate
from tests.services.test_kafka import require_kafka

pytestmark = pytest.mark.integration


@pytest.mark.slow  # `make test-slow` (CI runs it): keeps `make test` within its 15 minutes
async def test_a_client_without_credentials_is_refused(tmp_path: Path) -> None:
    require_kafka()
    handle = start_kafka(tmp_path, sasl=True)
    bootstrap = f"127.0.0.1:{handle.port}"
    try:
        assert handle.credential is not None and handle.credential.username == "solbot"
        assert handle.credential.password not in repr(handle)  # the handle may be logged
        # Plaintext: the broker closes the connection on the first request, so no metadata ever comes.
        plain = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3_000)
        with pytest.raises((KafkaError, OSError, TimeoutError)):
            await asyncio.wait_for(plain.start(), 10)
        await plain.close()
        # SCRAM with a wrong password: refused too.
        wrong = {**client_options(handle.credential), "sasl_plain_password": "not-the-password"}
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=3_000, **wrong)
        with pytest.raises((KafkaError, OSError, TimeoutError)):
            await asyncio.wait_for(producer.start(), 10)
        await producer.stop()
        # The data dir's own credential: produce and read back.
        topic = f"t-{uuid.uuid4().hex[:8]}"
        auth = client_options(handle.credential)
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **auth)
        await producer.start()
        await producer.send_and_wait(topic, b"signed-in")
        await producer.stop()
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", **auth)
        await consumer.start()
        try:
            record = await asyncio.wait_for(consumer.getone(), 30)
        finally:
            await consumer.stop()
        assert record.value == b"signed-in"
    finally:
        terminate(handle.pid)
    saved = tmp_path / "kafka" / CREDENTIAL_FILE
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "kafka" / "server.properties").stat().st_mode) == 0o600
    assert handle.credential.password not in (tmp_path / "broker.log").read_text()
    again = start_kafka(tmp_path, sasl=True)  # a restart signs in with the same credential
    terminate(again.pid)
    assert again.credential == handle.credential
    assert json.loads(saved.read_text())["password"] == handle.credential.password


def test_a_data_dir_formatted_without_sasl_is_refused_with_one_line(tmp_path: Path) -> None:
    require_kafka()
    terminate(start_kafka(tmp_path).pid)
    with pytest.raises(ServiceError, match="formatted without SASL, so it has no SCRAM users"):
        start_kafka(tmp_path, sasl=True)


@pytest.mark.slow  # `make test-slow` (CI runs it): keeps `make test` within its 15 minutes
async def test_the_bots_clients_sign_in_with_the_settings(tmp_path: Path) -> None:
    """What a worker does before it starts (probe, topics, identity, the group's guarantee) and `solbot
    topics list` work on a SASL-only broker with BROKER_SASL_*; without them the probe gets no answer."""
    from pydantic import SecretStr

    from core.settings import Settings
    from streams.broker import create_topics, probe_transactions
    from streams.broker_auth import broker_auth
    from streams.identity import read_identity
    from streams.inspect import list_topics
    from streams.membership import running_guarantees

    require_kafka()
    handle = start_kafka(tmp_path, sasl=True)
    bootstrap = f"127.0.0.1:{handle.port}"
    try:
        assert handle.credential is not None
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            broker_sasl_username=handle.credential.username,
            broker_sasl_password=SecretStr(handle.credential.password),
        )
        auth = broker_auth(settings)
        assert await probe_transactions(bootstrap, auth=auth) is True
        assert "signals" in await create_topics(bootstrap, 2, auth)
        assert await read_identity(bootstrap, auth=auth) is not None
        assert await running_guarantees(bootstrap, "solbot", auth) == set()
        assert "signals" in {info.topic for info in await list_topics(bootstrap, auth)}
        with pytest.raises(ServiceError, match="no answer to the transactions probe"):
            await probe_transactions(bootstrap, timeout_s=3)
    finally:
        terminate(handle.pid)
