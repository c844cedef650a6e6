"""The dashboard's one-click local sign-in (development only): the API signs for the page with the
development owner key (`wallet.dev_key`), so a first run needs no browser wallet.

Who may use it (all of it, on every request, docs/security.md "Local sign-in"):
- the settings say development, no TLS certificate nor WEB_DOMAIN is configured, and the API binds a
  loopback address;
- the TCP peer is a loopback address and the Host header a loopback name (127.0.0.1, localhost, [::1]),
  so a page from another site reached through DNS rebinding (Host: its own name) is refused;
- an Origin, when the browser sends one, names that same host (a cross-site form post is refused);
- the peer's socket belongs to the user the API runs as (`peer_uid`): another account on the same
  machine is refused. That user can read the key file anyway, so the sign-in grants nothing more.

What it signs: a sign-in it makes itself (nonce issued and verified through the usual path), and
request signatures (`web.api.request_signing`) for this domain only, for a session of the key's own
wallet. Never an arbitrary message, so it cannot sign a transaction.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from solders.keypair import Keypair
from starlette.requests import HTTPConnection

from core.settings import Settings
from web.api.peer_uid import peer_uid
from web.api.siws import WrongDomain, request_domain

log = logging.getLogger(__name__)

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
REQUEST_HEADER = "solbot signed request v1"
REQUEST_LINES = 7


class LocalRefused(Exception):
    """This request may not use the local sign-in; the message says why (for the log and a 403)."""


def is_loopback_name(host: str) -> bool:
    host = host.strip().lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def local_sign_in_enabled(settings: Settings) -> bool:
    """Development, no TLS certificate, no WEB_DOMAIN and a loopback bind: never on a server others can
    reach, nor on one configured for a domain."""
    return (
        settings.environment == "development"
        and settings.web_tls_cert is None
        and settings.web_domain is None
        and is_loopback_name(settings.web_host)
    )


def _host_name(host_header: str) -> str:
    """`127.0.0.1:8000` -> `127.0.0.1`, `[::1]:8000` -> `::1`."""
    return urlsplit(f"//{host_header}").hostname or ""


@dataclass(frozen=True)
class LocalSigner:
    """The development key and the user it serves."""

    keypair: Keypair
    uid: int

    @classmethod
    def for_this_user(cls, keypair: Keypair) -> LocalSigner:
        return cls(keypair, os.getuid())

    @property
    def wallet(self) -> str:
        return str(self.keypair.pubkey())

    def admit(self, conn: HTTPConnection, configured_domain: str | None) -> str:
        """The request's domain when it may use the local sign-in; else `LocalRefused`."""
        client, server = conn.scope.get("client"), conn.scope.get("server")
        if not client or not server:
            raise LocalRefused("no peer address")
        try:
            loopback_peer = ipaddress.ip_address(client[0]).is_loopback
        except ValueError:
            loopback_peer = False
        if not loopback_peer:
            raise LocalRefused(f"peer {client[0]} is not loopback")
        host = conn.headers.get("host", "")
        if not is_loopback_name(_host_name(host)):
            raise LocalRefused(f"Host {host!r} is not a loopback name")
        try:
            domain = request_domain(configured_domain, host, conn.headers.get("origin"))
        except WrongDomain as exc:
            raise LocalRefused(str(exc)) from None
        owner = peer_uid((client[0], int(client[1])), (server[0], int(server[1])))
        if owner != self.uid:
            raise LocalRefused(f"the connection belongs to uid {owner}, not {self.uid}")
        return domain

    def sign_request(self, message: str, domain: str) -> str:
        """The base58 signature of a request-signing message for `domain`; `LocalRefused` for any other
        text (a sign-in message, a transaction, another domain's request)."""
        lines = message.split("\n")
        if len(lines) != REQUEST_LINES or lines[0] != REQUEST_HEADER or lines[1] != f"Domain: {domain}":
            raise LocalRefused("only request signatures for this domain are signed")
        return str(self.keypair.sign_message(message.encode("utf-8")))

    def sign_in_message(self, message: str) -> str:
        return str(self.keypair.sign_message(message.encode("utf-8")))
