"""`solbot config show | check`, `--version` and `--help` as a user (or a script) sees them."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import load_config
from core.settings import Settings
from solbot.cli import _parser, export_to_children
from tests.commands.test_bad_input import base_env, solbot


def run(argv: list[str], tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return solbot(argv, {**base_env(tmp), **env}, tmp)


def test_check_names_a_misspelled_setting_from_the_environment(tmp_path: Path) -> None:
    proc = run(["config", "check"], tmp_path, MAX_POSITON_PCT="3")
    assert proc.returncode == 2 and proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert line.startswith("solbot: unknown setting MAX_POSITON_PCT in the environment")
    assert "did you mean MAX_POSITION_PCT?" in line


def test_check_names_a_misspelled_setting_from_the_file(tmp_path: Path) -> None:
    (tmp_path / "my.toml").write_text("max_positon_pct = 3\n")
    proc = run(["config", "check"], tmp_path, SOLBOT_CONFIG=str(tmp_path / "my.toml"))
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"solbot: unknown setting 'max_positon_pct' in {tmp_path / 'my.toml'} "
        "(did you mean max_position_pct?)"
    ]


def test_check_says_ok_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "solbot.toml").write_text("max_position_pct = 3\n")
    proc = run(["config", "check"], tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    [line] = proc.stdout.splitlines()
    assert line.startswith("solbot: config OK (file ") and "solbot.toml" in line


def test_show_tells_where_each_value_came_from(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('max_position_pct = 3\nstop_loss_pct = 1.5\nlog_level = "warning"\n')
    proc = run(
        ["--config", "c.toml", "--set", "log_level=error", "config", "show", "--json"],
        tmp_path,
        STOP_LOSS_PCT="2.5",
        JWT_SECRET="x" * 40,
    )
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["max_position_pct"] == {"value": 3.0, "source": "file c.toml"}
    assert shown["stop_loss_pct"] == {"value": 2.5, "source": "env"}
    assert shown["log_level"] == {"value": "error", "source": "flag"}
    assert shown["take_profit_pct"] == {"value": 5.0, "source": "default"}
    assert shown["pairs"] == {"value": ["SOL/USDC", "JUP/USDC", "BONK/SOL"], "source": "default"}
    assert shown["jwt_secret"]["value"] == "****" and "x" * 40 not in proc.stdout
    assert shown["jupiter_api_key"]["value"] is None
    text = run(["config", "show"], tmp_path).stdout
    assert re.search(r"^max_position_pct +=.*5\.0  # default$", text, re.M)


def test_version_comes_from_the_package_metadata(tmp_path: Path) -> None:
    proc = run(["--version"], tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == f"solbot {importlib.metadata.version('solbot')}"


def all_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.extend(all_parsers(sub))
    return found


def test_every_command_has_a_description_and_help_shows_default_values() -> None:
    parsers = all_parsers(_parser())
    assert len(parsers) > 25
    for parser in parsers[1:]:
        assert parser.description, parser.prog
    for parser in parsers:
        text = parser.format_help()
        named = [n for n in Settings.model_fields if re.search(rf"default:? {n.upper()}\b", text)]
        assert named == [], parser.prog  # a default shown by a setting's name, not its value
    run_help = next(p for p in parsers if p.prog == "solbot run").format_help()
    assert "raw events per second (default: 300.0" in run_help and "(default: 1;" in run_help


def test_usage_errors_are_one_line(tmp_path: Path) -> None:
    proc = run(["run", "--rate", "fast"], tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "solbot run: argument --rate: invalid float value: 'fast' (see solbot run --help)"
    ]
    assert run(["--set", "max_positon_pct=3", "config", "check"], tmp_path).stderr.splitlines() == [
        "solbot: unknown setting 'max_positon_pct' (did you mean max_position_pct?)"
    ]
    assert sys.executable  # the subprocesses ran this interpreter


def test_worker_processes_inherit_the_file_and_the_set_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`solbot run` spawns workers that re-read their settings: they must see what the parent saw."""
    monkeypatch.setenv("SOLBOT_CONFIG", "")  # restored after the test, like the next one
    monkeypatch.setenv("STOP_LOSS_PCT", "")
    (tmp_path / "c.toml").write_text("max_position_pct = 3\n")
    loaded = load_config(config=tmp_path / "c.toml", environ={})
    export_to_children(loaded, argparse.Namespace(set=["stop_loss_pct=1.5"]))
    assert os.environ["SOLBOT_CONFIG"] == str((tmp_path / "c.toml").resolve())
    assert os.environ["STOP_LOSS_PCT"] == "1.5"
    child = load_config(environ=dict(os.environ))
    assert (child.settings.max_position_pct, child.settings.stop_loss_pct) == (3.0, 1.5)


def test_show_masks_the_broker_password_and_a_bad_one_is_not_echoed(tmp_path: Path) -> None:
    secret = "broker-" + "p" * 30
    proc = run(
        ["config", "show", "--json"], tmp_path, BROKER_SASL_USERNAME="solbot", BROKER_SASL_PASSWORD=secret
    )
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["broker_sasl_username"] == {"value": "solbot", "source": "env"}
    assert shown["broker_sasl_password"]["value"] == "****" and secret not in proc.stdout
    text = run(["config", "show"], tmp_path, BROKER_SASL_PASSWORD=secret).stdout
    assert secret not in text and re.search(r"^broker_sasl_password +=.*\*\*\*\*", text, re.M)
