"""The dashboard `solbot run` serves: its port, its printed URL and sign-in hint, and a dashboard that
cannot start being one warning line while the run goes on."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

from core.settings import Settings, load_settings
from solbot.dashboard import dashboard_port, dashboard_url, how_to_sign_in, serve_dashboard


@pytest.fixture
def plain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("BROKER_URL", "DATABASE_URL", "REDIS_URL", "WEB_DOMAIN", "WEB_PORT", "ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    return load_settings(data_dir=tmp_path / "data")


def test_port_is_web_port_when_free_else_another(plain: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = int(taken.getsockname()[1])
        other = dashboard_port(plain.model_copy(update={"web_port": busy}))
        assert other != busy and other > 0
    assert dashboard_port(plain.model_copy(update={"web_port": busy})) == busy
    bogus = plain.model_copy(update={"web_host": "192.0.2.1"})  # not an address of this machine
    assert dashboard_port(bogus) > 0


def test_url_and_sign_in_hint(plain: Settings) -> None:
    assert dashboard_url(plain, 8123) == "http://127.0.0.1:8123/"
    assert dashboard_url(plain.model_copy(update={"web_host": "0.0.0.0"}), 1) == "http://127.0.0.1:1/"
    assert (
        dashboard_url(plain.model_copy(update={"web_host": "::1", "web_tls": True}), 2) == "https://[::1]:2/"
    )
    assert "Sign in locally" in how_to_sign_in(plain)
    assert "Phantom" in how_to_sign_in(plain.model_copy(update={"web_host": "0.0.0.0"}))


class NoServices:
    """A stack whose services cannot be reached: `solbot web` fails to start on it."""

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": "not-a-url", "REDIS_URL": "redis://127.0.0.1:1", "BROKER_URL": ""}


async def test_a_dashboard_that_cannot_start_is_one_warning(plain: Settings) -> None:
    out = io.StringIO()
    assert await serve_dashboard(plain, NoServices(), out) is None  # type: ignore[arg-type]
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("solbot: warning: no dashboard: "), lines
    assert "exited with code" in lines[0]
