"""Shared fixtures: one real embedded stack (broker, PostgreSQL, Redis) per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import Settings, load_settings
from services.broker import start_tansu
from services.process import terminate
from services.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir: Path = tmp_path_factory.mktemp("stack")
    # Plaintext: the tests' own clients speak to it directly. The SASL default is proven on its own
    # (tests/services/test_kafka_sasl.py, tests/integration/test_run_end_to_end.py).
    settings = load_settings(
        data_dir=data_dir, broker_url=None, database_url=None, redis_url=None, embedded_broker_sasl=False
    )
    with Stack(settings) as running:
        yield running


@pytest.fixture(scope="session")
def tansu_broker_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Tansu broker whatever the embedded default is, for the tests of its workarounds."""
    handle = start_tansu(tmp_path_factory.mktemp("tansu"))
    yield handle.url
    terminate(handle.pid)


@pytest.fixture(scope="session")
def database_url(stack: Stack) -> str:
    return stack.database_url


@pytest.fixture(scope="session")
def redis_url(stack: Stack) -> str:
    return stack.redis_url


@pytest.fixture(scope="session")
def broker_url(stack: Stack) -> str:
    return stack.broker_url


@pytest.fixture
def settings(tmp_path: Path, stack: Stack) -> Settings:
    """Settings pointing at the session's stack, with a private data dir."""
    return load_settings(
        data_dir=tmp_path,
        broker_url=stack.broker_url,
        database_url=stack.database_url,
        redis_url=stack.redis_url,
    )
