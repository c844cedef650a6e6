"""What an operator is told (a `Notice`) and how each destination wants it (the request it sends).

Pure: no I/O. Shapes:
- webhook: one JSON object, `{"source": "solbot", "kind", "level", "title", "text", "ts_ms", "data"}`
  (`data`: the fill's or alert's fields), POSTed as `application/json`; any 2xx is delivered.
- Telegram Bot API `sendMessage` (https://core.telegram.org/bots/api#sendmessage, read 2026-12-04):
  POST `{api}/bot<token>/sendMessage` with a JSON body `{"chat_id", "text"}` (+ `disable_notification`
  for fills: quiet); text is 1-4096 characters. The answer is `{"ok": true, "result": Message}` or
  `{"ok": false, "error_code", "description", "parameters": {"retry_after": s}}` (ResponseParameters).
  docs/protocols/README.md ("Notifications") records the source.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import SecretStr

Kind = Literal["fills", "halts", "alerts"]
LEVELS = ("info", "warning", "error", "critical")
TELEGRAM_MAX_TEXT = 4096
HALT_CODES = ("risk.halt.", "risk.venue_halt.")
FILL_FIELDS = (
    "id", "order_id", "pair", "side", "status", "reason", "venue", "base_amount", "quote_amount", "fee_quote",
    "price", "base_decimals", "quote_decimals", "signature", "ts_ms",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing to tell the operator; `urgent` ones go before the others and displace them when full."""

    kind: Kind
    level: str
    title: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    ts_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    @property
    def urgent(self) -> bool:
        return self.kind == "halts" or self.level in ("error", "critical")


def alert_notice(alert: dict[str, Any]) -> Notice:
    """An alert as `store.alerts.raise_alert` stored it; a risk halt is a `halts` notice."""
    code, level = str(alert.get("code", "")), str(alert.get("level", "info"))
    kind: Kind = "halts" if code.startswith(HALT_CODES) else "alerts"
    title = f"{'HALT' if kind == 'halts' else level.upper()}: {code}"
    return Notice(
        kind=kind,
        level=level,
        title=title,
        text=f"{title}\n{alert.get('message', '')}",
        data=dict(alert),
        ts_ms=int(alert.get("ts_ms") or time.time() * 1000),
    )


def fill_notice(fill: Any) -> Notice:
    """A `streams.records.Fill`: what was bought or sold, at what price, or why it failed."""
    base, _, quote = str(fill.pair).partition("/")
    if fill.status == "filled":
        size = fill.base_amount / 10**fill.base_decimals
        paid = fill.quote_amount / 10**fill.quote_decimals
        fee = fill.fee_quote / 10**fill.quote_decimals
        title = f"{fill.side.upper()} {size:,.6g} {base} @ {fill.price:.6g} {quote}"
        text = f"{title}\n{paid:,.6g} {quote} incl. fee {fee:,.6g} on {fill.venue} ({fill.order_id})"
        level = "info"
    else:
        title = f"{fill.side.upper()} {fill.pair} failed: {fill.reason}"
        text = f"{title}\n{fill.order_id} on {fill.venue}"
        level = "warning"
    data = {k: getattr(fill, k) for k in FILL_FIELDS}
    return Notice(kind="fills", level=level, title=title, text=text, data=data, ts_ms=int(fill.ts_ms))


@dataclass(frozen=True)
class Request:
    """One HTTP POST; `secrets` are strings never to be shown (scrubbed from any error text)."""

    url: str
    body: dict[str, Any]
    secrets: tuple[str, ...] = ()


class Webhook:
    """A generic JSON webhook (the URL may hold a credential: only its host is ever shown)."""

    def __init__(self, url: SecretStr) -> None:
        self._url = url

    @property
    def name(self) -> str:
        return "webhook"

    def describe(self) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(self._url.get_secret_value())
        return f"webhook at {parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"

    def request(self, notice: Notice) -> Request:
        body = {
            "source": "solbot",
            "kind": notice.kind,
            "level": notice.level,
            "title": notice.title,
            "text": notice.text,
            "ts_ms": notice.ts_ms,
            "data": notice.data,
        }
        url = self._url.get_secret_value()
        return Request(url, body, secrets=(url,))


class Telegram:
    """Telegram's Bot API `sendMessage` to one chat (the token is in the URL path: never shown)."""

    def __init__(self, api_url: str, token: SecretStr, chat_id: str) -> None:
        self._api_url = api_url.rstrip("/")
        self._token = token
        self.chat_id = chat_id

    @property
    def name(self) -> str:
        return "telegram"

    def describe(self) -> str:
        return f"telegram chat {self.chat_id}"

    def request(self, notice: Notice) -> Request:
        text = notice.text
        if len(text) > TELEGRAM_MAX_TEXT:
            text = text[: TELEGRAM_MAX_TEXT - 1] + "…"
        body: dict[str, Any] = {"chat_id": self.chat_id, "text": text}
        if notice.kind == "fills":
            body["disable_notification"] = True  # fills are many: no sound; halts and alerts ring
        token = self._token.get_secret_value()
        return Request(f"{self._api_url}/bot{token}/sendMessage", body, secrets=(token,))


Destination = Webhook | Telegram


def destinations_from(settings: Any) -> list[Destination]:
    """The destinations the settings enable (none: notifications are off)."""
    out: list[Destination] = []
    if settings.notify_webhook_url is not None:
        out.append(Webhook(settings.notify_webhook_url))
    if settings.notify_telegram_token is not None and settings.notify_telegram_chat_id:
        api, token = settings.notify_telegram_api_url, settings.notify_telegram_token
        out.append(Telegram(api, token, settings.notify_telegram_chat_id))
    return out


def wanted(notice: Notice, kinds: tuple[str, ...], min_level: str) -> bool:
    """Whether the settings ask for this notice (halts ignore the level: they are always sent)."""
    if notice.kind not in kinds:
        return False
    if notice.kind != "alerts":
        return True
    rank = {name: i for i, name in enumerate(LEVELS)}
    return rank.get(notice.level, 0) >= rank.get(min_level, 0)


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with every secret replaced: an exception's message may quote the URL it failed on."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<secret>")
    return text
