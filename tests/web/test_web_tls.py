"""`WEB_TLS=true`: the server `solbot web` configures completes TLS 1.3 handshakes and refuses TLS 1.2; the
development certificate is generated once into the data directory with its key 0600."""

from __future__ import annotations

import socket
import ssl
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from core.errors import ConfigError
from core.settings import load_settings
from services.process import free_port
from solbot.commands.web import server_config
from web.tls import development_certificate


async def hello(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
    assert scope["type"] in ("http", "lifespan")
    if scope["type"] == "lifespan":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"hello over " + scope["scheme"].encode()})  # type: ignore[operator]


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    settings = load_settings(data_dir=tmp_path, web_tls=True)
    port = free_port()
    config = server_config(hello, settings, "127.0.0.1", port)
    config.lifespan = "off"
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield port, tmp_path / "tls" / "dev-cert.pem"
    finally:
        server.should_exit = True
        thread.join(10)


def client_context(cert: Path, version: ssl.TLSVersion) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cert))
    context.minimum_version = version
    context.maximum_version = version
    return context


def test_tls13_accepted_and_serves_https(tls_server: tuple[int, Path]) -> None:
    port, cert = tls_server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with client_context(cert, ssl.TLSVersion.TLSv1_3).wrap_socket(
            raw, server_hostname="localhost"
        ) as tls:
            assert tls.version() == "TLSv1.3"
            tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := tls.recv(4096):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and b"hello over https" in answer
    assert b"server:" not in answer.lower()


def test_tls12_refused(tls_server: tuple[int, Path]) -> None:
    port, cert = tls_server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with pytest.raises(ssl.SSLError):
            client_context(cert, ssl.TLSVersion.TLSv1_2).wrap_socket(raw, server_hostname="localhost")


def test_development_certificate_made_once_key_private(tmp_path: Path) -> None:
    first = development_certificate(tmp_path / "tls", "solbot.test")
    assert stat.S_IMODE(first.key.stat().st_mode) == 0o600
    pem = first.cert.read_bytes()
    again = development_certificate(tmp_path / "tls", "solbot.test")
    assert again.cert.read_bytes() == pem  # reused, not regenerated on every start


def test_tls_outside_development_needs_a_certificate(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="WEB_TLS_CERT") as caught:
        load_settings(
            data_dir=tmp_path,
            web_tls=True,
            environment="production",
            jwt_secret="s" * 40,
            web_domain="bot.example",
        )
    assert "s" * 40 not in str(caught.value)  # the model-level error names no secret
    with pytest.raises(ConfigError, match="together"):
        load_settings(web_tls_cert=tmp_path / "c.pem")


def test_configured_certificate_must_exist(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path, web_tls=True, web_tls_cert=tmp_path / "no.pem", web_tls_key=tmp_path / "no.key"
    )
    with pytest.raises(ConfigError, match="WEB_TLS_CERT: no such file"):
        server_config(hello, settings, "127.0.0.1", free_port())
