"""TLS for `solbot web`: a TLS 1.3-only server context, and the self-signed development certificate.

TLS 1.3 only (the spec's contract): no 1.2 fallback, so no CBC suites, RSA key exchange or renegotiation
to configure away. The development certificate is an ECDSA P-256 key, self-signed for `localhost`,
127.0.0.1 and ::1 (plus the configured domain), written once into DATA_DIR/tls/ with the key 0600, and
reused while it is valid for at least another day.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.errors import ConfigError
from core.settings import Settings

log = logging.getLogger(__name__)

DEV_CERT_DAYS = 365


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert: Path
    key: Path
    generated: bool  # a development certificate this process (or an earlier one) made


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """A server context that completes only TLS 1.3 handshakes."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    try:
        context.load_cert_chain(files.cert, files.key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"bad setting WEB_TLS_CERT/WEB_TLS_KEY: cannot load them ({exc})") from None
    return context


def resolve_tls_files(settings: Settings) -> TlsFiles:
    """The configured pair, or (development only; the settings refuse it elsewhere) the generated one."""
    if settings.web_tls_cert is not None and settings.web_tls_key is not None:
        for name, path in (("WEB_TLS_CERT", settings.web_tls_cert), ("WEB_TLS_KEY", settings.web_tls_key)):
            if not path.is_file():
                raise ConfigError(f"bad setting {name}: no such file {path}")
        return TlsFiles(settings.web_tls_cert, settings.web_tls_key, generated=False)
    host = (settings.web_domain or "localhost").split(":")[0]  # WEB_DOMAIN may carry a port
    return development_certificate(settings.data_dir / "tls", host)


def development_certificate(directory: Path, domain: str) -> TlsFiles:
    """The self-signed pair in `directory`, made on first use (or when it expires within a day)."""
    cert_path, key_path = directory / "dev-cert.pem", directory / "dev-key.pem"
    if cert_path.is_file() and key_path.is_file() and _valid_for_a_day(cert_path):
        return TlsFiles(cert_path, key_path, generated=True)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "solbot development")])
    alt_names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    if domain != "localhost":
        alt_names.append(x509.DNSName(domain))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=DEV_CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(key_path, key_pem)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    log.warning("generated a self-signed development certificate: %s (browsers will warn)", cert_path)
    return TlsFiles(cert_path, key_path, generated=True)


def _write_private(path: Path, data: bytes) -> None:
    """Created 0600 from the first byte (never world-readable, not even between open and chmod)."""
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _valid_for_a_day(cert_path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError:
        return False
    return cert.not_valid_after_utc > datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
