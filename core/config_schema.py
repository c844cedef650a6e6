"""The settings' schema as people read it: the sample TOML file and the reference table in docs/, both
rendered from `Settings` so they cannot drift from it (tests compare the committed files)."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import annotated_types
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from core.config import (
    CONFIG_ENV,
    CONFIG_FILE_NAME,
    ENV_ALLOW,
    ENV_TYPO_CUTOFF,
    ENV_TYPO_MIN_LEN,
    SECRET_FIELDS,
)
from core.settings import Settings


@dataclass(frozen=True)
class SettingSpec:
    name: str
    kind: str
    default: str
    bounds: str
    description: str
    secret: bool


def _kind(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _kind(get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        return _kind(inner[0]) + " (optional)"
    if origin is Literal:
        return " | ".join(f'"{a}"' for a in get_args(annotation))
    if origin is tuple:
        return "list of strings"
    if origin is dict:
        return "string of name:number pairs"
    if annotation is SecretStr:
        return "secret string"
    if annotation is Path:
        return "path"
    return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(annotation, str(annotation))


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return toml_value(",".join(f"{k}:{v}" for k, v in value.items()))
    if isinstance(value, str | Path):
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}"
    return str(value)


def _bounds(info: FieldInfo) -> str:
    parts = []
    for m in info.metadata:
        for attr, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            if isinstance(m, getattr(annotated_types, attr.capitalize())):
                parts.append(f"{sign} {getattr(m, attr)}")
        if isinstance(m, annotated_types.MinLen):
            parts.append(f"at least {m.min_length} characters")
    return ", ".join(parts)


def schema() -> list[SettingSpec]:
    specs = []
    for name, info in Settings.model_fields.items():
        value = info.get_default(call_default_factory=True)
        default = "unset" if value is None else toml_value(value)
        specs.append(
            SettingSpec(
                name=name,
                kind=_kind(info.annotation),
                default=default,
                bounds=_bounds(info),
                description=info.description or "",
                secret=name in SECRET_FIELDS,
            )
        )
    return specs


def sample_toml() -> str:
    """solbot.example.toml: every setting, commented out at its default, with its type and bounds."""
    lines = [
        "# solbot settings (TOML). Generated from core/settings.py by `solbot config sample`; do not edit.",
        f"# Copy it to <data dir>/{CONFIG_FILE_NAME} (or pass --config PATH, or set {CONFIG_ENV}), then",
        "# uncomment what you change. Precedence: defaults < this file < environment < command-line flags.",
        "# An unknown or misspelled key stops start-up; `solbot config check` says which.",
        "",
    ]
    for spec in schema():
        lines.append(f"# {spec.description}")
        rule = spec.kind + (f"; {spec.bounds}" if spec.bounds else "")
        lines.append(f"# ({rule})")
        if spec.default == "unset":
            lines.append(f"# {spec.name} =   (unset by default)")
        else:
            lines.append(f"# {spec.name} = {spec.default}")
        lines.append("")
    return "\n".join(lines)


def markdown_table() -> str:
    """docs/configuration.md: the reference table."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "# Configuration reference",
        "",
        "Generated from `core/settings.py` by `solbot config docs`; do not edit (a test keeps it in sync).",
        "A setting is a key of the TOML file (lower case, as below) or an environment variable (its name",
        "in upper case). Precedence: defaults < file < environment < command-line flags; README,",
        '"Configuration", says where the file lives.',
        "",
        "## Misspelled names",
        "",
        "In the file every key that is not a setting is refused, with the nearest setting suggested. The",
        "environment is shared with every other program, so refusing all unknown variables would trip on",
        "`PATH`; ignoring them all lets `MAX_POSITON_PCT=3` trade at the 5 % default. The rule between:",
        "a variable is refused when it is not a setting but its upper-cased name is nearly one (difflib",
        f"similarity >= {ENV_TYPO_CUTOFF}, at least {ENV_TYPO_MIN_LEN} characters). That catches a "
        "dropped, doubled",
        "or swapped letter and `_URI` for `_URL`, and leaves `PATH`, `HOME`, `JAVA_HOME`, `PGDATA`, "
        "`KAFKA_OPTS`",
        "and the like alone (tests/core/test_config_sources.py lists the ones checked). A",
        f"near-miss that belongs to another program is let through by naming it: `{ENV_ALLOW}=NAME,...`.",
        "A prefix policy (`SOLBOT_*` only) was not chosen: it would rename every setting users already set.",
        "",
        "## Settings",
        "",
        "| setting | type | default | bounds | meaning |",
        "|---|---|---|---|---|",
    ]
    for spec in schema():
        default = spec.default if spec.default == "unset" else f"`{spec.default}`"
        lines.append(
            f"| `{spec.name}` | {cell(spec.kind)} | {cell(default)} | {cell(spec.bounds)} | "
            f"{cell(spec.description)} |"
        )
    return "\n".join(lines) + "\n"
