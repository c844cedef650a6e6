"""Where each setting comes from: defaults < configuration file < environment < command-line flags.

`Settings` (core/settings.py) is the schema; this module only layers the sources over it and refuses
what is not in it. A misspelled key must stop start-up, because a silently ignored `MAX_POSITON_PCT=3`
trades with the default 5 %.

The environment is shared with every other program, so it cannot be refused wholesale: a variable is
taken for a misspelled setting only when it is not a setting and its name is nearly one (difflib ratio
>= ENV_TYPO_CUTOFF, at least ENV_TYPO_MIN_LEN characters). PATH, HOME or JAVA_HOME are nowhere near a
setting's name; a variable that is and is meant for another program is named in SOLBOT_ENV_ALLOW.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsError
from pydantic_settings.sources import DotEnvSettingsSource, EnvSettingsSource

from core.errors import ConfigError
from core.settings import Settings

CONFIG_ENV = "SOLBOT_CONFIG"
ENV_ALLOW = "SOLBOT_ENV_ALLOW"
CONFIG_FILE_NAME = "solbot.toml"
ENV_TYPO_CUTOFF = 0.85
ENV_TYPO_MIN_LEN = 6
# Every SecretStr setting: a bad value is reported without its value (the input is the raw string).
SECRET_FIELDS = frozenset(
    {
        "jwt_secret",
        "jupiter_api_key",
        "metrics_token",
        "model_checkpoint_key",
        "redis_password",
        "notify_webhook_url",
        "notify_telegram_token",
        "broker_sasl_password",
    }
)

DEFAULT = "default"
ENV = "env"
DOTENV = "env (.env)"
FLAG = "flag"


@dataclass(frozen=True)
class Flag:
    """A setting given on the command line; `label` names the option in error lines (`--rate`)."""

    value: object
    label: str


@dataclass(frozen=True)
class Loaded:
    """The settings in force, and for each field where its value came from."""

    settings: Settings
    origins: dict[str, str]
    config_path: Path | None = None
    labels: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings in force for this process: the same sources as the `solbot` command (file, env)."""
    return load_config().settings


def setting_names() -> list[str]:
    return list(Settings.model_fields)


def did_you_mean(name: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    """` (did you mean X?)` for the nearest candidate, or "" when none is near."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=cutoff)
    return f" (did you mean {close[0]}?)" if close else ""


def misspelled_env(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """(variable, the setting it nearly names) for each variable that looks like a misspelled setting."""
    known = {name.upper() for name in setting_names()}
    allowed = {n.strip().upper() for n in environ.get(ENV_ALLOW, "").split(",") if n.strip()}
    found: list[tuple[str, str]] = []
    for var in sorted(environ):
        upper = var.upper()
        if upper in known or upper in allowed or len(upper) < ENV_TYPO_MIN_LEN:
            continue
        close = difflib.get_close_matches(upper, known, n=1, cutoff=ENV_TYPO_CUTOFF)
        if close:
            found.append((var, close[0]))
    return found


def check_env(environ: Mapping[str, str], where: str = "in the environment") -> None:
    for var, setting in misspelled_env(environ)[:1]:
        raise ConfigError(
            f"unknown setting {var} {where} (did you mean {setting}?; "
            f"name it in {ENV_ALLOW} if it is meant for another program)"
        )


def config_path(flag: Path | None, environ: Mapping[str, str]) -> tuple[Path, bool]:
    """The file to read and whether it was asked for (a missing asked-for file is an error; a missing
    default one is not): --config, else SOLBOT_CONFIG, else <DATA_DIR>/solbot.toml."""
    if flag is not None:
        return flag, True
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV]), True
    data_dir = next((v for k, v in environ.items() if k.upper() == "DATA_DIR" and v), None)
    base = Path(data_dir) if data_dir else Path(str(Settings.model_fields["data_dir"].default))
    return base / CONFIG_FILE_NAME, False


def read_config_file(path: Path) -> dict[str, object]:
    """The file's settings; a TOML error or an unknown key is one ConfigError line naming the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    names = setting_names()
    for key, value in data.items():
        if key not in Settings.model_fields:
            hint = did_you_mean(key.lower(), names)
            raise ConfigError(f"unknown setting {key!r} in {path}{hint}")
        if isinstance(value, dict):
            raise ConfigError(f"bad setting {key!r} in {path}: a value, not a table, is expected")
    return data


def _env_values(environ: Mapping[str, str]) -> tuple[dict[str, object], dict[str, object]]:
    """(process environment, .env file) values of settings, as pydantic-settings reads them."""
    env = EnvSettingsSource(Settings)
    env.env_vars = {k.lower(): v for k, v in environ.items()}
    dotenv = DotEnvSettingsSource(Settings)
    dotenv_values = {k: v for k, v in dotenv().items() if k.lower() not in env.env_vars}
    return env(), dotenv_values


def load_config(
    *,
    config: Path | None = None,
    flags: Mapping[str, Flag] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Loaded:
    """Settings from every source, unknown keys refused; a bad value is one line naming it and its source."""
    environ = os.environ if environ is None else environ
    flags = flags or {}
    check_env(environ)
    path, asked = config_path(config, environ)
    file_values: dict[str, object] = {}
    if path.is_file() or asked:
        file_values = read_config_file(path)
    else:
        path = None  # type: ignore[assignment]
    try:
        env_values, dotenv_values = _env_values(environ)
    except SettingsError as exc:
        raise ConfigError(f"bad setting: {exc}") from None
    if dotenv_values:
        check_env({k.upper(): str(v) for k, v in dotenv_values.items()}, "in .env")
    for name in flags:
        if name not in Settings.model_fields:
            raise ConfigError(f"unknown setting {name!r}{did_you_mean(name, setting_names())}")
    origins: dict[str, str] = {}
    merged: dict[str, object] = {}
    layers: list[tuple[str, Mapping[str, object]]] = [
        (f"file {path}", file_values),
        (DOTENV, {k: v for k, v in dotenv_values.items() if k in Settings.model_fields}),
        (ENV, env_values),
        (FLAG, {name: flag.value for name, flag in flags.items()}),
    ]
    for origin, values in layers:
        for name, value in values.items():
            merged[name] = value
            origins[name] = origin
    labels = {name: flag.label for name, flag in flags.items()}
    try:
        validated = _OnlyGiven(**merged)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(explain(exc, origins, labels)) from None
    for name in Settings.model_fields:
        origins.setdefault(name, DEFAULT)
    settings = Settings.model_construct(
        validated.model_fields_set, **{name: getattr(validated, name) for name in Settings.model_fields}
    )
    return Loaded(settings, origins, path if file_values or asked else None, labels)


class _OnlyGiven(Settings):
    """Validates exactly the layered values: the environment was read once, from `environ`, above."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def explain(exc: ValidationError, origins: Mapping[str, str], labels: Mapping[str, str]) -> str:
    """The first error as one line: the setting, its source, the rule it breaks and the value (secrets
    hidden)."""
    first = exc.errors()[0]
    loc = [str(p) for p in first["loc"]]
    if not loc:
        return f"bad settings: {first['msg'].removeprefix('Value error, ')}"
    name = loc[0]
    shown = "<hidden>" if name in SECRET_FIELDS else repr(first.get("input"))
    msg = first["msg"].removeprefix("Value error, ")
    if name in labels:
        return f"bad option {labels[name]}: {msg} (got {shown})"
    origin = origins.get(name, DEFAULT)
    where = "" if origin == DEFAULT else f" (from {origin})"
    return f"bad setting {name.upper()}{where}: {msg} (got {shown})"


def mask_url(url: str) -> str:
    """A URL with its password replaced, so `config show` never prints a credential."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:****@{host}"))


def endpoint(url: str) -> str:
    """Only a URL's scheme, host and port, for logs and messages: RPC providers put the API key in the
    path (`https://x.quiknode.pro/<key>/`) or the query (`?api-key=<key>`), and a password may be in it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "<unparsable URL>"
    if ":" in host:  # IPv6
        host = f"[{host}]"
    hidden = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{hidden}"


def shown_value(name: str, value: object) -> str:
    """A value as `config show` prints it: TOML-like, secrets masked."""
    if isinstance(value, SecretStr) or name in SECRET_FIELDS:
        return "unset" if value is None else '"****"'
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    if isinstance(value, dict):
        return '"' + ",".join(f"{k}:{v}" for k, v in value.items()) + '"'
    if isinstance(value, str | Path):
        return f'"{mask_url(str(value))}"'
    return str(value)
