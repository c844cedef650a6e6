"""Sign-In With Solana messages: the text a wallet signs to sign in, and the check of the domain.

Layout: Phantom's Sign In With Solana specification (github.com/phantom/sign-in-with-solana, README.md,
read 2026-12-04), as the wallet standard writes it (github.com/anza-xyz/wallet-standard,
packages/core/util/src/signIn.ts, `createSignInMessageText`): the domain line, the address, a statement,
then `URI`, `Version`, `Chain ID`, `Nonce`, `Issued At`, `Expiration Time`, in that order. docs/protocols/
siws.md names the fields solbot writes.

The domain is the host[:port] the dashboard is served at. Outside development it is the `WEB_DOMAIN`
setting; a sign-in whose request names another host (Host, or Origin when the browser sends one) is
refused, so a phishing page cannot relay a message made for this API. In development without the setting
the request's own Host is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

STATEMENT = "Sign in to solbot. This request will not trigger a blockchain transaction or cost any fees."
VERSION = "1"
NONCE_LINE = re.compile(r"^Nonce: ([A-Za-z0-9_-]{16,64})$", re.MULTILINE)


class WrongDomain(Exception):
    """The request's Host or Origin is not the domain sign-in messages are made for."""


@dataclass(frozen=True, slots=True)
class SignInFields:
    domain: str
    uri: str
    chain_id: str
    wallet: str
    nonce: str
    issued_s: float
    expires_s: float


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def sign_in_message(fields: SignInFields) -> str:
    return (
        f"{fields.domain} wants you to sign in with your Solana account:\n"
        f"{fields.wallet}\n\n"
        f"{STATEMENT}\n\n"
        f"URI: {fields.uri}\n"
        f"Version: {VERSION}\n"
        f"Chain ID: {fields.chain_id}\n"
        f"Nonce: {fields.nonce}\n"
        f"Issued At: {iso(fields.issued_s)}\n"
        f"Expiration Time: {iso(fields.expires_s)}"
    )


def nonce_of(message: str) -> str | None:
    match = NONCE_LINE.search(message)
    return match.group(1) if match else None


def request_domain(configured: str | None, host: str | None, origin: str | None) -> str:
    """The domain of this request's sign-in: the configured one, which Host and Origin must name.

    Without a configured domain (development only: settings refuse it elsewhere) the Host is taken.
    """
    host_name = (host or "").strip().lower()
    origin_host = urlsplit(origin).netloc.lower() if origin and origin != "null" else None
    if configured is None:
        if not host_name:
            raise WrongDomain("no Host header")
        if origin_host is not None and origin_host != host_name:
            raise WrongDomain(f"Origin {origin_host!r} is not Host {host_name!r}")
        return host_name
    if host_name != configured:
        raise WrongDomain(f"Host {host_name!r} is not {configured!r}")
    if origin_host is not None and origin_host != configured:
        raise WrongDomain(f"Origin {origin_host!r} is not {configured!r}")
    return configured
