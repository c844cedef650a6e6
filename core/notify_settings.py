"""Where fills, halts and alerts are sent (a webhook, Telegram) and how politely: declared apart from
`Settings` (which inherits them, environment keys = field names) so the notification block reads as one.
Both destinations are off until their URL or token is set."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

NoticeKind = Literal["fills", "halts", "alerts"]
NOTICE_KINDS: tuple[str, ...] = ("fills", "halts", "alerts")


class NotifySettings(BaseModel):
    """Notification destinations, what is sent, and the sender's rate, queue and retry limits."""

    model_config = ConfigDict(frozen=True)

    # A webhook URL often carries its own credential (a token in the path): treated as a secret.
    notify_webhook_url: SecretStr | None = Field(
        None,
        description=(
            "http(s) URL each notification is POSTed to as one JSON object; secret (never logged: only "
            "its host is)"
        ),
    )
    notify_telegram_token: SecretStr | None = Field(
        None, description="Telegram bot token (from @BotFather); secret, never logged or shown in an error"
    )
    notify_telegram_chat_id: str | None = Field(
        None, description="the chat the bot writes to: a numeric id or `@channelusername`"
    )
    notify_telegram_api_url: str = Field(
        "https://api.telegram.org", description="Telegram Bot API base (a local Bot API server, or a test's)"
    )
    notify_events: Annotated[tuple[NoticeKind, ...], NoDecode] = Field(
        ("fills", "halts", "alerts"), description="what is sent (comma-separated): `fills`, `halts`, `alerts`"
    )
    notify_min_level: Literal["info", "warning", "error", "critical"] = Field(
        "warning", description="alerts below this level are not sent (halts are always `critical`)"
    )
    notify_rate_per_min: int = Field(
        20, ge=1, le=600, description="most messages per minute to each destination (Telegram: 20 per chat)"
    )
    notify_queue_size: int = Field(
        200, ge=1, le=100_000, description="notices waiting per destination; past it new ones are dropped"
    )
    notify_max_attempts: int = Field(
        5, ge=1, le=20, description="tries per message (429, 5xx, timeouts) before it is given up"
    )
    notify_timeout_s: float = Field(5.0, gt=0.0, le=120.0, description="seconds per HTTP request")

    @field_validator("notify_events", mode="before")
    @classmethod
    def _split_events(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return value

    @field_validator("notify_webhook_url")
    @classmethod
    def _check_webhook(cls, value: SecretStr | None) -> SecretStr | None:
        # The message names no part of the URL: it may be a credential.
        if value is None or value.get_secret_value() == "":
            return None
        if not value.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("notify_telegram_token")
    @classmethod
    def _empty_token_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        return None if value is None or value.get_secret_value() == "" else value

    @field_validator("notify_telegram_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _token_and_chat_together(self) -> NotifySettings:
        if (self.notify_telegram_token is None) != (self.notify_telegram_chat_id in (None, "")):
            raise ValueError(
                "NOTIFY_TELEGRAM_TOKEN and NOTIFY_TELEGRAM_CHAT_ID are set together or not at all"
            )
        return self
