"""The web API's identity settings (`solbot web`): the sign-in message, session lifetimes, request
signatures and the WebSocket's checks. Declared apart from `Settings` (which inherits them; environment
keys = field names, upper case) so the authentication policy reads as one block."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# host or host:port, as in a URL's authority (no scheme, path or user info).
_DOMAIN = re.compile(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$")


class WebAuthSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    web_domain: str | None = Field(
        None,
        description=(
            "host[:port] the dashboard is served at, named in the sign-in message and checked against "
            "each sign-in's Host/Origin; required outside development (there: the request's Host)"
        ),
    )
    web_chain_id: Literal["mainnet", "devnet", "testnet", "localnet"] = Field(
        "mainnet", description="`Chain ID` of the sign-in message"
    )
    web_access_ttl_s: int = Field(3600, ge=60, le=86_400, description="lifetime of an access token")
    web_session_ttl_s: int = Field(
        86_400,
        ge=300,
        le=30 * 86_400,
        description="a session (and its refresh tokens) ends this long after sign-in",
    )
    web_nonce_ttl_s: int = Field(
        300, ge=30, le=3600, description="a sign-in message must be signed within this"
    )
    web_signature_window_s: int = Field(
        60,
        ge=5,
        le=600,
        description="a signed trading request's timestamp may be this far from the server's clock",
    )
    web_ws_auth_timeout_s: float = Field(
        10.0, gt=0, le=120, description="a WebSocket must authenticate within this after opening"
    )
    web_ws_check_s: float = Field(
        5.0, gt=0, le=300, description="how often an open WebSocket's session and role are re-checked"
    )

    @field_validator("web_domain")
    @classmethod
    def _domain_shape(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not _DOMAIN.match(value):
            raise ValueError("must be host or host:port (no scheme or path), e.g. bot.example.com")
        return value.lower()

    @model_validator(mode="after")
    def _domain_outside_development(self) -> WebAuthSettings:
        environment = getattr(self, "environment", "development")
        if self.web_domain is None and environment != "development":
            raise ValueError(f"WEB_DOMAIN must be set when ENVIRONMENT is {environment!r}")
        return self
