"""The deployment files in compose/ agree with each other and with solbot.

There is no Docker engine here, so nothing is started: the files are parsed and cross-checked (services,
dependencies, volumes, ports, env files, settings names, scrape targets, alert rules, the dashboard, the
image). METRICS below is the contract between the workers' exporters and the alerts and dashboard.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from core.settings import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE_DIR = REPO / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
SOLBOT_ENV = COMPOSE_DIR / "solbot.env"
SECRETS_EXAMPLE = COMPOSE_DIR / "secrets.env.example"
PROMETHEUS_YML = COMPOSE_DIR / "prometheus" / "prometheus.yml"
ALERTS_YML = COMPOSE_DIR / "prometheus" / "alerts.yml"
DASHBOARD = COMPOSE_DIR / "grafana" / "dashboards" / "solbot.json"
PROVISIONING = COMPOSE_DIR / "grafana" / "provisioning"
DOCKERFILE = COMPOSE_DIR / "Dockerfile"

# The metrics solbot's workers and web service export, by type. Alerts and dashboard panels may use only
# these (histograms through their _bucket/_sum/_count series) and the two below.
METRICS: dict[str, str] = {
    "solbot_hop_latency_seconds": "histogram",  # {hop}: raw_to_features .. orders_to_fills
    "solbot_decision_latency_seconds": "histogram",  # raw event -> order published
    "solbot_events_total": "counter",  # {agent}
    "solbot_dead_letters_total": "counter",  # {agent}
    "solbot_consumer_lag": "gauge",  # {topic, partition}
    "solbot_model_log_loss": "gauge",  # {pair}
    "solbot_model_baseline_log_loss": "gauge",  # {pair}
    "solbot_model_drift_total": "counter",  # {pair}
    "solbot_equity_usdc": "gauge",
    "solbot_drawdown_ratio": "gauge",
    "solbot_exposure_usdc": "gauge",  # {pair}
    "solbot_orders_total": "counter",  # {state}
    "solbot_venue_errors_total": "counter",  # {venue}
    "solbot_venue_latency_seconds": "histogram",  # {venue}
    "solbot_last_event_age_seconds": "gauge",  # {pair}
}
# Prometheus' own per-target series and prometheus_client's process collector.
OTHER_METRICS = {"up": "gauge", "process_resident_memory_bytes": "gauge"}

SOLBOT_URL_SETTINGS = ("BROKER_URL", "DATABASE_URL", "REDIS_URL")
SECRET_NAMES = {
    "POSTGRES_PASSWORD",
    "PGPASSWORD",
    "JWT_SECRET",
    "GF_SECURITY_ADMIN_PASSWORD",
    "REDIS_PASSWORD",
    "METRICS_TOKEN",
    "MODEL_CHECKPOINT_KEY",
    "BROKER_SASL_PASSWORD",
    "BROKER_ADMIN_PASSWORD",
    "CONSOLE_SASL_PASSWORD",
}
DEPENDENCY_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
SEVERITIES = {"critical", "warning", "info"}


def series_names() -> set[str]:
    names: set[str] = set()
    for name, kind in {**METRICS, **OTHER_METRICS}.items():
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        else:
            names.add(name)
    return names


# --- PromQL: the metric names an expression selects --------------------------------------------------

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
# An identifier not glued to a number (1e-9, 5m), a $variable or a dotted name.
_IDENT = re.compile(r"(?<![A-Za-z0-9_:.$])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?")
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless"}
_KEYWORDS |= {"offset", "inf", "nan"}


def promql_metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords or labels."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGES.sub("", text)
    text = _GROUPING.sub("", text)
    names = set()
    for match in _IDENT.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (
            "histogram_quantile(0.99, sum by (le, hop) (rate(solbot_hop_latency_seconds_bucket[5m]))) > 0.25",
            {"solbot_hop_latency_seconds_bucket"},
        ),
        ('up{job=~"solbot-.*"} == 0', {"up"}),
        ('absent(up{job="solbot-worker"} == 1)', {"up"}),
        (
            "sum by (agent) (rate(a_total[$__rate_interval]))"
            " / on (agent) rate(b_total[5m] offset 1h) > 1e-2",
            {"a_total", "b_total"},
        ),
        ("max by (pair) (x) > bool max by (pair) (y) unless z", {"x", "y", "z"}),
    ],
)
def test_promql_metric_names(expr: str, expected: set[str]) -> None:
    assert promql_metric_names(expr) == expected


def test_a_misspelt_metric_is_outside_the_contract() -> None:
    used = promql_metric_names("max by (pair) (solbot_model_los_loss) > 1")
    assert used - series_names() == {"solbot_model_los_loss"}


# --- helpers ------------------------------------------------------------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as compose reads them (this project's files use no quotes or interpolation)."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key), f"{path.name}:{number}: not KEY=VALUE: {raw!r}"
        assert key not in values, f"{path.name}:{number}: {key} set twice"
        values[key] = value
    return values


def env_file_paths(service: dict[str, Any]) -> list[str]:
    entries = service.get("env_file", [])
    entries = [entries] if isinstance(entries, str) else entries
    return [entry if isinstance(entry, str) else entry["path"] for entry in entries]


def env_file(name: str) -> Path:
    """An env_file entry; `secrets.env` is the operator's copy of `secrets.env.example`."""
    path = COMPOSE_DIR / name
    if path.name == "secrets.env" and not path.exists():
        return SECRETS_EXAMPLE
    return path


def service_env(service: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in env_file_paths(service):
        values.update(read_env_file(env_file(name)))
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    values.update({k: str(v) for k, v in environment.items()})
    return values


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def published_ports(service: dict[str, Any]) -> list[int]:
    """Host ports a service publishes (short `[ip:]host:container` or long syntax)."""
    ports = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            if "published" in entry:
                ports.append(int(entry["published"]))
            continue
        parts = str(entry).split("/")[0].rsplit(":", 2)
        if len(parts) >= 2:
            ports.append(int(parts[-2]))
    return ports


def container_ports(service: dict[str, Any]) -> set[int]:
    """Ports a service listens on, as declared by `expose` and `ports`."""
    found = {int(str(p).split("/")[0]) for p in service.get("expose", [])}
    for entry in service.get("ports", []):
        target = entry["target"] if isinstance(entry, dict) else str(entry).split("/")[0].rsplit(":", 1)[-1]
        found.add(int(target))
    return found


def mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each volume entry; a source without ./ or / is a named volume."""
    found = []
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            found.append((entry.get("source", ""), entry["target"]))
        else:
            source, _, rest = entry.partition(":")
            found.append((source, rest.split(":")[0]))
    return found


def mount_target(service: dict[str, Any], source: str) -> str:
    targets = [t for s, t in mounts(service) if s.rstrip("/") == source.rstrip("/")]
    assert len(targets) == 1, f"{source} is not mounted exactly once"
    return targets[0]


def command_args(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def host_and_port(url_or_target: str) -> tuple[str, int]:
    parsed = urlparse(url_or_target if "://" in url_or_target else f"tcp://{url_or_target}")
    assert parsed.hostname and parsed.port, f"{url_or_target} names no host:port"
    return parsed.hostname, parsed.port


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def solbot_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Services running the solbot image (built from compose/Dockerfile)."""
    found = {name: s for name, s in services.items() if "build" in s}
    assert {"migrate", "worker", "web"} <= set(found)
    return found


@pytest.fixture(scope="module")
def solbot_env() -> dict[str, str]:
    return read_env_file(SOLBOT_ENV)


@pytest.fixture(scope="module")
def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS_YML.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


# --- the compose file ---------------------------------------------------------------------------------


def test_compose_file_has_the_expected_services(services: dict[str, dict[str, Any]]) -> None:
    expected = {
        "redpanda",
        "broker-init",
        "console",
        "timescaledb",
        "redis",
        "prometheus",
        "grafana",
        "migrate",
        "worker",
        "web",
    }
    assert expected <= set(services)


def test_every_service_has_an_image_or_a_build(services: dict[str, dict[str, Any]]) -> None:
    assert [name for name, s in services.items() if "image" not in s and "build" not in s] == []


def test_build_context_and_dockerfile_exist(solbot_services: dict[str, dict[str, Any]]) -> None:
    for name, service in solbot_services.items():
        context = (COMPOSE_DIR / service["build"]["context"]).resolve()
        assert context == REPO, name
        assert (context / service["build"]["dockerfile"]).resolve() == DOCKERFILE, name


def test_dependencies_exist_and_their_conditions_hold(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for target, condition in depends_on(service).items():
            assert target in services, f"{name} depends on unknown service {target}"
            assert condition in DEPENDENCY_CONDITIONS, f"{name} -> {target}: {condition}"
            other = services[target]
            if condition == "service_healthy":
                assert "healthcheck" in other and not other["healthcheck"].get("disable"), (
                    f"{name} waits for {target} to be healthy, but {target} has no health check"
                )
            if condition == "service_completed_successfully":
                assert other.get("restart", "no") == "no", f"{target} is not a one-shot (restart: no)"
            if "profiles" not in service:
                assert "profiles" not in other, f"{name} always starts but {target} only under a profile"


def test_solbot_services_wait_for_what_they_use(services: dict[str, dict[str, Any]]) -> None:
    worker = depends_on(services["worker"])
    for target in ("redpanda", "timescaledb", "redis"):
        assert worker[target] == "service_healthy"
    assert worker["migrate"] == "service_completed_successfully"
    assert depends_on(services["migrate"])["timescaledb"] == "service_healthy"


def test_named_volumes_are_declared_and_bind_sources_exist(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, service in compose["services"].items():
        for source, target in mounts(service):
            assert target.startswith("/"), f"{name}: mount target {target!r}"
            if source.startswith((".", "/")):
                assert (COMPOSE_DIR / source).exists(), f"{name}: bind source {source} is missing"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
                used.add(source)
    assert declared == used, f"declared but unused: {declared - used}"


def test_no_host_port_is_published_twice(services: dict[str, dict[str, Any]]) -> None:
    seen: dict[int, str] = {}
    for name, service in services.items():
        for port in published_ports(service):
            assert port not in seen, f"host port {port} published by {seen[port]} and {name}"
            seen[port] = name
    assert {3000, 9090, 8443} <= set(seen)


def test_env_files_exist(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for entry in env_file_paths(service):
            path = COMPOSE_DIR / entry
            if path.name == "secrets.env":  # git-ignored: the operator copies the example
                assert SECRETS_EXAMPLE.exists(), f"{name}: {entry} has no secrets.env.example"
            else:
                assert path.is_file(), f"{name}: env_file {entry} is missing"


def test_solbot_services_reach_compose_services(
    services: dict[str, dict[str, Any]], solbot_services: dict[str, dict[str, Any]]
) -> None:
    for name, service in solbot_services.items():
        env = service_env(service)
        for setting in SOLBOT_URL_SETTINGS:
            assert env.get(setting), f"{name}: {setting} is not set"
            host, port = host_and_port(env[setting])
            assert host in services, f"{name}: {setting} names {host}, not a compose service"
            assert port in container_ports(services[host]), (
                f"{name}: {setting}: {host} does not expose {port}"
            )
    assert solbot_services["worker"]["env_file"][0] == "solbot.env"


def test_solbot_env_names_real_settings(solbot_env: dict[str, str]) -> None:
    fields = {name.upper() for name in Settings.model_fields}
    assert sorted(set(solbot_env) - fields) == []
    assert {*SOLBOT_URL_SETTINGS, "PROCESSING_GUARANTEE", "TOPIC_PARTITIONS", "COMMIT_INTERVAL_S"} <= set(
        solbot_env
    )


def test_solbot_env_values_are_valid_settings(solbot_env: dict[str, str]) -> None:
    values = {k.lower(): v for k, v in solbot_env.items()}
    # ENVIRONMENT=production needs JWT_SECRET, which secrets.env holds
    settings = Settings(_env_file=None, **values, jwt_secret="j" * 32)  # type: ignore[call-arg]
    assert settings.processing_guarantee == "exactly_once"
    assert settings.commit_interval_s == pytest.approx(0.1)


def test_solbot_commands_leave_out_the_entrypoint(solbot_services: dict[str, dict[str, Any]]) -> None:
    # ENTRYPOINT ["solbot"]: `command: solbot worker` would run `solbot solbot worker`.
    for name, service in solbot_services.items():
        if "entrypoint" not in service:
            assert command_args(service)[0] != "solbot", name
    assert command_args(solbot_services["worker"]) == ["worker"]
    assert command_args(solbot_services["migrate"]) == ["db", "migrate"]
    assert command_args(solbot_services["web"]) == ["web", "--host", "0.0.0.0", "--port", "8443"]


def test_workers_scale_within_the_partitions(
    services: dict[str, dict[str, Any]], solbot_env: dict[str, str]
) -> None:
    worker = services["worker"]
    assert 1 <= worker["deploy"]["replicas"] <= int(solbot_env["TOPIC_PARTITIONS"])
    assert "container_name" not in worker and published_ports(worker) == [], "replicas would collide"
    assert int(solbot_env["WORKER_WEB_PORT"]) in container_ports(worker)


def test_web_listens_where_it_is_published(services: dict[str, dict[str, Any]]) -> None:
    args = command_args(services["web"])
    port = int(args[args.index("--port") + 1])
    assert port in container_ports(services["web"]) and port in published_ports(services["web"])


# --- secrets ------------------------------------------------------------------------------------------


def test_secrets_env_is_ignored_and_not_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "compose/secrets.env"], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert tracked.stdout.strip() == ""
    ignored = subprocess.run(["git", "check-ignore", "-q", "compose/secrets.env"], cwd=REPO, check=False)
    assert ignored.returncode == 0, ".gitignore does not ignore compose/secrets.env"
    assert "compose/secrets.env" in (REPO / ".dockerignore").read_text().split()


def test_secrets_example_holds_names_not_values(solbot_env: dict[str, str]) -> None:
    example = read_env_file(SECRETS_EXAMPLE)
    assert set(example) == SECRET_NAMES
    assert {k: v for k, v in example.items() if v} == {}
    assert not SECRET_NAMES & set(solbot_env)
    assert urlparse(solbot_env["DATABASE_URL"]).password is None, "password in DATABASE_URL"


# --- Prometheus ---------------------------------------------------------------------------------------


def test_prometheus_mounts_its_config_and_rules(services: dict[str, dict[str, Any]]) -> None:
    prometheus = services["prometheus"]
    config_path = mount_target(prometheus, "./prometheus/prometheus.yml")
    assert f"--config.file={config_path}" in command_args(prometheus)
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    assert config["rule_files"] == [mount_target(prometheus, "./prometheus/alerts.yml")]


def test_scrape_targets_are_compose_services_and_ports(
    services: dict[str, dict[str, Any]], solbot_env: dict[str, str]
) -> None:
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    targets: dict[str, set[tuple[str, int]]] = {}
    for job in config["scrape_configs"]:
        found = targets.setdefault(job["job_name"], set())
        for static in job.get("static_configs", []):
            found |= {host_and_port(t) for t in static["targets"]}
        for dns in job.get("dns_sd_configs", []):
            assert dns.get("type", "SRV") == "A" and "port" in dns, "compose DNS serves A records"
            found |= {(name, int(dns["port"])) for name in dns["names"]}
    assert len(targets) == len(config["scrape_configs"]), "job names repeat"
    for job, found in targets.items():
        assert found, f"{job} has no targets"
        for host, port in found:
            assert host in services, f"{job}: {host} is not a compose service"
            assert port in container_ports(services[host]), f"{job}: {host} does not expose {port}"
    assert targets["solbot-worker"] == {("worker", int(solbot_env["WORKER_WEB_PORT"]))}
    assert targets["solbot-web"] == {("web", 8443)}
    web_job = next(job for job in config["scrape_configs"] if job["job_name"] == "solbot-web")
    assert web_job["scheme"] == "https" and "credentials_file" in web_job["authorization"]


# --- alert rules --------------------------------------------------------------------------------------


def test_alert_rules_are_complete(alert_rules: list[dict[str, Any]]) -> None:
    names = [rule.get("alert") for rule in alert_rules]
    assert len(names) == len(set(names)), "alert names repeat"
    for rule in alert_rules:
        name = rule.get("alert")
        assert name and rule.get("expr"), rule
        assert re.fullmatch(r"(\d+[smhdwy])+", str(rule.get("for", ""))), f"{name}: for"
        assert rule.get("labels", {}).get("severity") in SEVERITIES, f"{name}: severity"
        assert rule.get("annotations", {}).get("summary"), f"{name}: summary"
        assert rule.get("annotations", {}).get("description"), f"{name}: description"


def test_alert_expressions_use_only_contract_metrics(alert_rules: list[dict[str, Any]]) -> None:
    allowed = series_names()
    for rule in alert_rules:
        used = promql_metric_names(rule["expr"])
        assert used, f"{rule['alert']}: no metric found in {rule['expr']!r}"
        assert used <= allowed, f"{rule['alert']}: unknown metrics {sorted(used - allowed)}"


def test_alerts_cover_latency_errors_strategy_staleness_and_resources(
    alert_rules: list[dict[str, Any]],
) -> None:
    used = set().union(*(promql_metric_names(rule["expr"]) for rule in alert_rules))
    required = {
        "solbot_decision_latency_seconds_bucket",
        "solbot_dead_letters_total",
        "solbot_venue_errors_total",
        "solbot_model_log_loss",
        "solbot_model_baseline_log_loss",
        "solbot_model_drift_total",
        "solbot_drawdown_ratio",
        "solbot_last_event_age_seconds",
        "process_resident_memory_bytes",
        "up",
    }
    assert required <= used, f"no alert on {sorted(required - used)}"


# --- Grafana ------------------------------------------------------------------------------------------


def test_dashboard_panels_use_only_contract_metrics(dashboard: dict[str, Any]) -> None:
    panels = dashboard["panels"]
    assert panels
    allowed = series_names()
    used: set[str] = set()
    for panel in panels:
        exprs = [target["expr"] for target in panel.get("targets", [])]
        assert exprs, f"panel {panel['title']!r} has no query"
        for expr in exprs:
            names = promql_metric_names(expr)
            assert names and names <= allowed, f"panel {panel['title']!r}: {sorted(names - allowed)}"
            used |= names
    # Every solbot metric is on the dashboard (histograms through their buckets).
    solbot_series = {n if METRICS[n] != "histogram" else f"{n}_bucket" for n in METRICS}
    assert solbot_series <= used, f"not on the dashboard: {sorted(solbot_series - used)}"


def test_dashboard_layout_and_ids(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and dashboard["uid"]
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        g = panel["gridPos"]
        assert g["x"] + g["w"] <= 24, panel["title"]
        area = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not area & cells, f"panel {panel['title']!r} overlaps another"
        cells |= area


def test_grafana_provisioning(services: dict[str, dict[str, Any]], dashboard: dict[str, Any]) -> None:
    grafana = services["grafana"]
    assert mount_target(grafana, "./grafana/provisioning") == "/etc/grafana/provisioning"
    datasources = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    (source,) = datasources["datasources"]
    assert datasources["apiVersion"] == 1 and source["type"] == "prometheus"
    host, port = host_and_port(source["url"])
    assert host == "prometheus" and port in container_ports(services["prometheus"])
    uids = {panel["datasource"]["uid"] for panel in dashboard["panels"]}
    uids |= {t["datasource"]["uid"] for panel in dashboard["panels"] for t in panel["targets"]}
    assert uids == {source["uid"]}, "the dashboard must use the provisioned datasource"

    providers = yaml.safe_load((PROVISIONING / "dashboards" / "solbot.yml").read_text())
    (provider,) = providers["providers"]
    assert providers["apiVersion"] == 1 and provider["type"] == "file"
    assert provider["options"]["path"] == mount_target(grafana, "./grafana/dashboards")


# --- the image ----------------------------------------------------------------------------------------


def test_dockerfile_runs_solbot_as_a_non_root_user() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("#")]
    assert lines[0] == "FROM python:3.11-slim"
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    last_user = max(i for i, line in enumerate(lines) if line.startswith("USER "))
    assert not any(line.startswith("RUN ") for line in lines[last_user:]), "RUN after USER runs as the user"
    entrypoints = [line for line in lines if line.startswith("ENTRYPOINT")]
    assert entrypoints and json.loads(entrypoints[-1].removeprefix("ENTRYPOINT").strip()) == ["solbot"]


def test_dockerfile_copies_every_package_pyproject_installs() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+)/ \1/$", DOCKERFILE.read_text(), flags=re.MULTILINE))
    assert packages == copied


# --- exposure and backend authentication (issue 19) ---------------------------------------------------


def host_ip(entry: Any) -> str:
    """The host address a `ports` entry binds (compose's default is every interface)."""
    if isinstance(entry, dict):
        return str(entry.get("host_ip", "0.0.0.0"))
    parts = str(entry).split(":")
    return parts[0] if len(parts) == 3 else "0.0.0.0"


def test_every_public_port_is_the_web_api_over_tls(
    services: dict[str, dict[str, Any]], solbot_env: dict[str, str]
) -> None:
    public = {
        name
        for name, service in services.items()
        for entry in service.get("ports", [])
        if host_ip(entry) not in ("127.0.0.1", "::1")
    }
    assert public == {"web"}, public
    values = {k.lower(): v for k, v in solbot_env.items()}
    settings = Settings(_env_file=None, **values, jwt_secret="j" * 32)  # type: ignore[call-arg]
    assert settings.web_tls and settings.web_tls_cert is not None and settings.environment == "production"
    assert int(solbot_env["WEB_PORT"]) in published_ports(services["web"])


def test_broker_and_console_are_not_published(services: dict[str, dict[str, Any]]) -> None:
    assert published_ports(services["redpanda"]) == []
    console = services["console"]
    assert published_ports(console) == [] and console.get("profiles") == ["console"]


def test_nothing_binds_every_interface(
    services: dict[str, dict[str, Any]], solbot_env: dict[str, str]
) -> None:
    assert solbot_env["WORKER_WEB_BIND"] not in ("0.0.0.0", "::")
    assert services["worker"]["hostname"] == solbot_env["WORKER_WEB_BIND"]  # its own compose address


def test_backends_require_passwords(services: dict[str, dict[str, Any]]) -> None:
    redis_command = " ".join(command_args(services["redis"]))
    assert "--requirepass" in redis_command and "$$REDIS_PASSWORD" in redis_command
    assert "secrets.env" in env_file_paths(services["redis"])
    environment = services["timescaledb"]["environment"]
    assert environment["POSTGRES_HOST_AUTH_METHOD"] == "scram-sha-256"
    assert "trust" not in environment["POSTGRES_INITDB_ARGS"]
    example = read_env_file(SECRETS_EXAMPLE)
    assert {"REDIS_PASSWORD", "POSTGRES_PASSWORD", "PGPASSWORD", "METRICS_TOKEN"} <= set(example)
