"""README documents every setting and the two commands a newcomer needs."""

from pathlib import Path

from core.settings import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in README]
    assert missing == []


def test_the_two_commands_come_first() -> None:
    head = README[:800]
    assert "make run" in head and "make test" in head
