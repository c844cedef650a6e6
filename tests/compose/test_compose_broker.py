"""compose's Redpanda: the embedded Kafka's settings where Redpanda has them, SASL/SCRAM on, and ACLs that
let only the worker principal write (so `control`, `control.manual` and `strategy.params` take no one
else's records). Parsed and cross-checked, not run (no Docker engine here)."""

from __future__ import annotations

import importlib
import re
import shlex
from typing import Any

import pytest
import yaml

from services.kafka.server import BROKER_SETTINGS
from tests.compose.test_compose_files import (
    COMPOSE_DIR,
    COMPOSE_FILE,
    SECRETS_EXAMPLE,
    SOLBOT_ENV,
    depends_on,
    env_file_paths,
    mount_target,
    read_env_file,
)

BOOTSTRAP = COMPOSE_DIR / "redpanda" / "bootstrap.yaml"
INIT = COMPOSE_DIR / "redpanda" / "init.sh"
HOUR_MS = 3_600_000

# Embedded Kafka setting -> (Redpanda cluster property, the Kafka value as Redpanda states it).
MIRRORED: dict[str, tuple[str, Any]] = {
    "group.initial.rebalance.delay.ms": ("group_initial_rebalance_delay", int),
    "group.min.session.timeout.ms": ("group_min_session_timeout_ms", int),
    "num.partitions": ("default_topic_partitions", int),
    "auto.create.topics.enable": ("auto_create_topics_enabled", lambda v: v == "true"),
    "default.replication.factor": ("default_topic_replications", int),
    "message.max.bytes": ("kafka_batch_max_bytes", int),
    "log.segment.bytes": ("log_segment_size", int),
    "log.retention.hours": ("log_retention_ms", lambda v: int(v) * HOUR_MS),
    "log.retention.bytes": ("retention_bytes", int),
}


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]


@pytest.fixture(scope="module")
def bootstrap() -> dict[str, Any]:
    return yaml.safe_load(BOOTSTRAP.read_text())


def acl_lines() -> list[list[str]]:
    """Each `rpk security acl create` of init.sh as its arguments (continuation lines joined)."""
    text = INIT.read_text().replace("\\\n", " ")
    lines = [line for line in text.splitlines() if line.strip().startswith("rpk security acl create")]
    return [shlex.split(line) for line in lines]


def option_values(args: list[str], option: str) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args) if arg == option]


def test_redpanda_mirrors_the_embedded_kafka_settings(bootstrap: dict[str, Any]) -> None:
    for kafka_name, (redpanda_name, convert) in MIRRORED.items():
        assert bootstrap[redpanda_name] == convert(BROKER_SETTINGS[kafka_name]), (kafka_name, redpanda_name)
    assert bootstrap["enable_transactions"] is True and bootstrap["enable_idempotence"] is True


def test_redpanda_reads_the_bootstrap_file(services: dict[str, dict[str, Any]]) -> None:
    assert mount_target(services["redpanda"], "./redpanda/bootstrap.yaml") == "/etc/redpanda/.bootstrap.yaml"


def test_the_broker_requires_sasl_with_an_admin_superuser(bootstrap: dict[str, Any]) -> None:
    assert bootstrap["enable_sasl"] is True
    assert bootstrap["superusers"] == ["admin"]


def test_only_the_worker_principal_may_write(services: dict[str, dict[str, Any]]) -> None:
    solbot_env = read_env_file(SOLBOT_ENV)
    assert solbot_env["BROKER_SASL_USERNAME"] == "solbot"
    grants: dict[str, set[str]] = {}
    for args in acl_lines():
        assert option_values(args, "--deny-principal") == []
        for principal in option_values(args, "--allow-principal"):
            ops = {op for value in option_values(args, "--operation") for op in value.split(",")}
            grants.setdefault(principal, set()).update(ops)
            assert option_values(args, "--topic") == ["*"]
    assert set(grants) == {"User:$BROKER_SASL_USERNAME", "User:console"}
    assert grants["User:$BROKER_SASL_USERNAME"] == {"all"}
    assert grants["User:console"] == {"read", "describe"}  # no write, no all: it cannot produce
    # Every user signs in with SCRAM-SHA-512, created by the one-shot before anything else uses the broker.
    assert re.findall(r"--mechanism (\S+)", INIT.read_text()) == ["SCRAM-SHA-512", "SCRAM-SHA-512"]
    init = services["broker-init"]
    assert mount_target(init, "./redpanda/init.sh") in init["entrypoint"]
    assert init["restart"] == "no" and depends_on(init) == {"redpanda": "service_healthy"}


def test_every_broker_client_waits_for_the_users_and_signs_in(services: dict[str, dict[str, Any]]) -> None:
    for name in ("topics", "worker", "web", "console"):
        assert depends_on(services[name]).get("broker-init") == "service_completed_successfully", name
    for name, service in services.items():
        if "build" in service:  # the solbot image: the user from solbot.env, its password from secrets
            assert {"solbot.env", "secrets.env"} <= set(env_file_paths(service)), name
    console = services["console"]["environment"]
    assert console["KAFKA_SASL_ENABLED"] == "true" and console["KAFKA_SASL_USERNAME"] == "console"
    assert console["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert "$$CONSOLE_SASL_PASSWORD" in " ".join(services["console"]["entrypoint"])


def test_broker_passwords_are_secrets() -> None:
    example = read_env_file(SECRETS_EXAMPLE)
    assert {"BROKER_SASL_PASSWORD", "BROKER_ADMIN_PASSWORD", "CONSOLE_SASL_PASSWORD"} <= set(example)
    assert not {"BROKER_SASL_PASSWORD", "BROKER_ADMIN_PASSWORD"} & set(read_env_file(SOLBOT_ENV))


def test_the_topics_one_shot_imports_what_exists(services: dict[str, dict[str, Any]]) -> None:
    """The one-shot's inline Python names solbot modules: each must exist with the names it takes
    (it once imported `solbot.settings` and `streams.broker_compat`, both gone)."""
    script = " ".join(services["topics"]["command"])
    imports = re.findall(r"from ([\w.]+) import ([\w, ]+);", script)
    assert imports
    for module, names in imports:
        loaded = importlib.import_module(module)
        for name in (n.strip() for n in names.split(",")):
            assert hasattr(loaded, name), (module, name)
    compile(script.replace(";", "\n").replace("\n ", "\n"), "topics", "exec")
