"""Configuration sources (core/config.py): precedence, provenance, misspelled keys, the generated files."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import (
    DEFAULT,
    ENV,
    FLAG,
    Flag,
    config_path,
    endpoint,
    load_config,
    mask_url,
    misspelled_env,
    shown_value,
)
from core.config_schema import markdown_table, sample_toml
from core.errors import ConfigError
from core.settings import Settings

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture(autouse=True)
def no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's checkout


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_then_file_then_env_then_flags(tmp_path: Path) -> None:
    file = write(
        tmp_path / "solbot.toml",
        'max_position_pct = 3\nstop_loss_pct = 4\ntake_profit_pct = 6\npairs = ["SOL/USDC"]\n',
    )
    env = {"STOP_LOSS_PCT": "5", "TAKE_PROFIT_PCT": "7"}
    loaded = load_config(config=file, environ=env, flags={"take_profit_pct": Flag(8.0, "--tp")})
    s = loaded.settings
    assert (s.max_position_pct, s.stop_loss_pct, s.take_profit_pct) == (3.0, 5.0, 8.0)
    assert s.pairs == ("SOL/USDC",) and s.max_drawdown_pct == 10.0
    assert loaded.origins["max_position_pct"] == f"file {file}"
    assert loaded.origins["pairs"] == f"file {file}"
    assert loaded.origins["stop_loss_pct"] == ENV
    assert loaded.origins["take_profit_pct"] == FLAG
    assert loaded.origins["max_drawdown_pct"] == DEFAULT
    assert set(loaded.origins) == set(Settings.model_fields)


def test_default_file_lives_in_the_data_directory(tmp_path: Path) -> None:
    write(tmp_path / "solbot.toml", "max_position_pct = 2.5\n")
    loaded = load_config(environ={"DATA_DIR": str(tmp_path)})
    assert loaded.settings.max_position_pct == 2.5 and loaded.config_path == tmp_path / "solbot.toml"
    assert load_config(environ={"DATA_DIR": str(tmp_path / "empty")}).config_path is None  # optional there
    assert config_path(None, {"SOLBOT_CONFIG": "/x/y.toml"}) == (Path("/x/y.toml"), True)
    assert config_path(Path("/a.toml"), {"SOLBOT_CONFIG": "/x/y.toml"}) == (Path("/a.toml"), True)


def test_an_asked_for_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(config=tmp_path / "missing.toml", environ={})
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(environ={"SOLBOT_CONFIG": str(tmp_path / "missing.toml")})


def test_a_misspelled_key_in_the_file_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    file = write(tmp_path / "c.toml", "max_positon_pct = 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(config=file, environ={})
    assert str(info.value) == f"unknown setting 'max_positon_pct' in {file} (did you mean max_position_pct?)"
    upper = write(tmp_path / "u.toml", "MAX_POSITION_PCT = 3\n")
    with pytest.raises(ConfigError, match="did you mean max_position_pct"):
        load_config(config=upper, environ={})


def test_bad_toml_and_tables_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_config(config=write(tmp_path / "bad.toml", "max_position_pct = = 3\n"), environ={})
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="not a table"):
        load_config(config=write(tmp_path / "t.toml", "[max_position_pct]\nx = 1\n"), environ={})


def test_a_bad_value_names_the_setting_and_its_source(tmp_path: Path) -> None:
    file = write(tmp_path / "c.toml", "max_position_pct = 300\n")
    with pytest.raises(ConfigError) as info:
        load_config(config=file, environ={})
    assert str(info.value).startswith(f"bad setting MAX_POSITION_PCT (from file {file}): ")
    with pytest.raises(ConfigError, match=r"bad setting MAX_SLIPPAGE_BPS \(from env\)"):
        load_config(environ={"MAX_SLIPPAGE_BPS": "lots"})
    with pytest.raises(ConfigError, match=r"^bad option --rate: .*greater than 0 \(got -5.0\)$"):
        load_config(environ={}, flags={"sim_rate_eps": Flag(-5.0, "--rate")})
    with pytest.raises(ConfigError, match="<hidden>"):
        load_config(environ={"JWT_SECRET": "short"})


def test_a_misspelled_environment_variable_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(environ={"MAX_POSITON_PCT": "3"})
    message = str(info.value)
    assert message.startswith(
        "unknown setting MAX_POSITON_PCT in the environment (did you mean MAX_POSITION_PCT?"
    )
    assert "\n" not in message


def test_the_environment_rule_leaves_other_programs_alone() -> None:
    others = (
        "PATH HOME JAVA_HOME PGDATA PGHOST PGPASSWORD KAFKA_HEAP_OPTS KAFKA_OPTS HOSTNAME PYTHONPATH "
        "VIRTUAL_ENV LANG LC_ALL TERM SHELL USER XDG_RUNTIME_DIR HTTP_PROXY NO_PROXY WEB_CONCURRENCY "
        "NODE_ENV SOLBOT_WALLET_PASSPHRASE SOLBOT_CONFIG SOLBOT_ENV_ALLOW PYTEST_ADDOPTS SSL_CERT_FILE"
    ).split()
    assert misspelled_env(dict.fromkeys(others, "1")) == []
    assert misspelled_env({"DATABASE_URI": "x", "LOGLEVEL": "x"}) == [
        ("DATABASE_URI", "DATABASE_URL"),
        ("LOGLEVEL", "LOG_LEVEL"),
    ]
    assert misspelled_env({"DATABASE_URI": "x", "SOLBOT_ENV_ALLOW": "database_uri"}) == []
    assert misspelled_env({"max_position_pct": "3"}) == []  # settings are case-insensitive


def test_dotenv_is_read_and_checked(tmp_path: Path) -> None:
    write(tmp_path / ".env", "STOP_LOSS_PCT=4\n")
    loaded = load_config(environ={})
    assert loaded.settings.stop_loss_pct == 4.0 and loaded.origins["stop_loss_pct"] == "env (.env)"
    write(tmp_path / ".env", "STOP_LOSS_PCT=4\nCOMPOSE_PROJECT_NAME=solbot\n")  # another tool's line
    loaded = load_config(environ={})
    assert "compose_project_name" not in loaded.origins and len(loaded.origins) == len(Settings.model_fields)
    write(tmp_path / ".env", "STOP_LOS_PCT=4\n")
    with pytest.raises(ConfigError, match=r"STOP_LOS_PCT in \.env"):
        load_config(environ={})


def test_show_masks_secrets_and_passwords() -> None:
    assert shown_value("jwt_secret", Settings.model_fields["jwt_secret"].default) == "unset"
    loaded = load_config(environ={"JWT_SECRET": "s" * 40, "DATABASE_URL": "postgresql://me:pw@db:5432/x"})
    assert shown_value("jwt_secret", loaded.settings.jwt_secret) == '"****"'
    assert shown_value("database_url", loaded.settings.database_url) == '"postgresql://me:****@db:5432/x"'
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_every_setting_has_a_description() -> None:
    assert [name for name, f in Settings.model_fields.items() if not f.description] == []


def test_the_sample_file_is_in_sync_and_loads(tmp_path: Path) -> None:
    committed = (ROOT / "solbot.example.toml").read_text(encoding="utf-8")
    assert committed == sample_toml(), "regenerate: solbot config sample > solbot.example.toml"
    for name in Settings.model_fields:
        assert f"# {name} =" in committed
    loaded = load_config(config=ROOT / "solbot.example.toml", environ={})
    assert all(origin == DEFAULT for origin in loaded.origins.values())


def test_uncommented_sample_values_are_the_defaults(tmp_path: Path) -> None:
    lines = [
        line.removeprefix("# ")
        for line in sample_toml().splitlines()
        if line.startswith("# ")
        and " = " in line
        and "(unset" not in line
        and line.removeprefix("# ").split(" = ")[0] in Settings.model_fields
    ]
    file = write(tmp_path / "all.toml", "\n".join(lines) + "\n")
    loaded = load_config(config=file, environ={})
    assert loaded.settings == load_config(environ={}).settings


def test_the_reference_table_is_in_sync() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == markdown_table(), "regenerate: solbot config docs > docs/configuration.md"
    for name in Settings.model_fields:
        assert f"| `{name}` |" in committed


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://mainnet.helius-rpc.com/?api-key=SECRET", "https://mainnet.helius-rpc.com/…"),
        ("https://x.solana-mainnet.quiknode.pro/SECRET/", "https://x.solana-mainnet.quiknode.pro/…"),
        ("wss://user:SECRET@rpc.example:8900", "wss://rpc.example:8900"),
        ("http://127.0.0.1:8899", "http://127.0.0.1:8899"),
        ("http://[::1]:8899/", "http://[::1]:8899"),
    ],
)
def test_an_endpoint_is_shown_without_its_path_query_or_password(url: str, shown: str) -> None:
    assert endpoint(url) == shown and "SECRET" not in endpoint(url)
