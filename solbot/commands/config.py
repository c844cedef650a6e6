"""`solbot config show | check | sample | docs`: the settings in force and where each came from.

By the time a command runs, `solbot.cli` has loaded and validated every source (an unknown key or a bad
value already stopped it with one line), so `check` only has to say so, and `show` only has to print.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.config import DEFAULT, SECRET_FIELDS, load_config, mask_url, shown_value
from core.config_schema import markdown_table, sample_toml
from core.settings import Settings
from solbot.options import flags_of


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("config", help="the settings in force, their sources, and the schema")
    actions = parser.add_subparsers(dest="config_action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="every setting's value in force and where it came from")
    show.add_argument(
        "--json", action="store_true", help="one JSON object: {name: {value, source}}, secrets masked"
    )
    show.add_argument("--changed", action="store_true", help="only settings not at their default")
    actions.add_parser("check", help="validate the file and environment; exit 0 with one OK line, else 2")
    actions.add_parser("sample", help="print solbot.example.toml (every setting at its default)")
    actions.add_parser("docs", help="print docs/configuration.md (the settings reference table)")


def json_value(name: str, value: object) -> object:
    """The value as JSON, with the same masking as the text view."""
    if name in SECRET_FIELDS and value is not None:
        return "****"
    return mask_url(value) if isinstance(value, str) else value


def main(settings: Settings, args: argparse.Namespace) -> int:
    if args.config_action == "sample":
        sys.stdout.write(sample_toml())
        return 0
    if args.config_action == "docs":
        sys.stdout.write(markdown_table())
        return 0
    loaded = load_config(config=args.config, flags=flags_of(args))
    changed = {name: origin for name, origin in loaded.origins.items() if origin != DEFAULT}
    if args.config_action == "check":
        file = f"file {loaded.config_path}" if loaded.config_path else "no config file"
        print(f"solbot: config OK ({file}; {len(changed)} of {len(loaded.origins)} settings set)")
        return 0
    rows = [
        (name, shown_value(name, getattr(loaded.settings, name)), loaded.origins[name])
        for name in Settings.model_fields
        if not args.changed or name in changed
    ]
    if args.json:
        values = loaded.settings.model_dump(mode="json")
        print(
            json.dumps(
                {
                    name: {"value": json_value(name, values[name]), "source": source}
                    for name, _, source in rows
                }
            )
        )
        return 0
    if not rows:
        print("# every setting is at its default")
        return 0
    width = max(len(name) for name, _, _ in rows)
    for name, value, source in rows:
        print(f"{name.ljust(width)} = {value}  # {source}")
    return 0
