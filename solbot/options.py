"""The command line's shape: one-line usage errors, descriptions on every command, default values in help,
and options that set a setting (so `config show` and the validation of `--rate -5` treat them like any
other source, before anything starts)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from core.config import Flag
from core.settings import Settings

SETTING_FLAGS = "_setting_flags"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (scripts and logs read one line)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


class DefaultsFormatter(argparse.HelpFormatter):
    """Appends `(default: VALUE)` to an option's help unless the help already names its default."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or default in (None, False, argparse.SUPPRESS)
            or not action.option_strings
            or isinstance(default, list)
        ):
            return text
        return f"{text} (default: {default})"


def schema_default(setting: str) -> object:
    return Settings.model_fields[setting].default


def setting_option(parser: argparse.ArgumentParser, flag: str, *, setting: str, help: str, type: Any) -> None:
    """An option that overrides `setting`; its help shows the setting's default value."""
    dest = flag.lstrip("-").replace("-", "_")
    default = schema_default(setting)
    parser.add_argument(flag, type=type, default=None, help=f"{help} (default: {default}; setting {setting})")
    mapping: dict[str, str] = dict(parser.get_default(SETTING_FLAGS) or {})
    mapping[dest] = setting
    parser.set_defaults(**{SETTING_FLAGS: mapping})


def flags_of(args: argparse.Namespace) -> dict[str, Flag]:
    """The settings this command line sets: mapped options, then `--set NAME=VALUE` pairs."""
    flags: dict[str, Flag] = {}
    for dest, setting in (getattr(args, SETTING_FLAGS, None) or {}).items():
        value = getattr(args, dest, None)
        if value is not None:
            flags[setting] = Flag(value, "--" + dest.replace("_", "-"))
    for pair in getattr(args, "set", None) or []:
        name, sep, value = pair.partition("=")
        name = name.strip().lower()
        if not sep or not name:
            from core.errors import ConfigError

            raise ConfigError(f"bad option --set {pair!r}: expected NAME=VALUE")
        flags[name] = Flag(value, f"--set {name}")
    return flags


def describe_commands(parser: argparse.ArgumentParser) -> None:
    """Give every sub-command the description its one-line help already says (shown by `CMD --help`)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                if not sub.description and helps.get(name):
                    text = str(helps[name])
                    sub.description = text[0].upper() + text[1:] + "."
                describe_commands(sub)


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every leaf command (`("topics", "list")`, `("run",)`), read from the parser itself."""
    paths: list[tuple[str, ...]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths.extend(command_paths(sub, (*prefix, name)))
            return paths
    return [prefix]
