"""README documents every setting and the two commands a newcomer needs; docs/development.md says where
to add each thing."""

import re
from pathlib import Path

from core.settings import Settings
from tests.test_architecture import APP_PACKAGES

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    """README's Configuration section links the reference generated from the schema (its sync is
    tests/core/test_config_sources.py), which lists every setting with its default."""
    reference = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()
    missing = [name for name in Settings.model_fields if f"| `{name}` |" not in reference]
    assert missing == []
    config = section("Configuration")
    assert "(docs/configuration.md)" in config
    assert "solbot config show" in config and "solbot config check" in config and "solbot.toml" in config


def test_the_two_commands_come_first() -> None:
    head = README[:800]
    assert "make run" in head and "make test" in head


DEVELOPMENT = (Path(__file__).parent.parent / "docs" / "development.md").read_text()


def section(title: str, text: str = README) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def test_the_layout_says_where_to_add_each_thing_in_at_most_two_places() -> None:
    rows = dict(re.findall(r"^\| (a [^|]+?) \| (.+) \|$", section("Layout", DEVELOPMENT), re.M))
    assert {"a strategy", "a risk limit", "a venue", "a topic", "a database query"} <= rows.keys()
    root = Path(__file__).parent.parent
    for what, where in rows.items():
        places = [p for p in re.findall(r"`([^`]*/[^`]*)`", where) if not p.startswith("tests/")]
        assert 1 <= len(places) <= 2, (what, places)
        for place in places:  # a placeholder such as <name> stands for a new file in an existing folder
            existing = place.split("<")[0].rstrip("/") or "."
            assert (root / existing).exists(), (what, place)


def test_the_layout_maps_every_package() -> None:
    mapped = re.findall(r"^\| `(\w+)/` \|", section("Layout", DEVELOPMENT), re.M)
    assert sorted(mapped) == sorted(APP_PACKAGES) and len(mapped) == len(set(mapped))
