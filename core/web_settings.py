"""The web API's transport and exposure settings (`solbot web`): bind address, TLS, trusted proxies, body
size, the metrics token and the API docs. Declared apart from `Settings` (which inherits them, environment
keys = field names) so the server's hardening reads as one block; README documents each with its default.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class WebServerSettings(BaseModel):
    """Where and how the API listens, and whom it believes about a client's address."""

    model_config = ConfigDict(frozen=True)

    # 127.0.0.1 keeps a development API private; a container or a host behind a proxy sets 0.0.0.0.
    web_host: str = Field(
        "127.0.0.1",
        min_length=1,
        description="address `solbot web` binds (`0.0.0.0` in a container or behind a proxy)",
    )
    # HTTPS accepting TLS 1.3 only. Without a configured certificate (development), a self-signed one is
    # generated into DATA_DIR/tls/ on first start and reused after.
    web_tls: bool = Field(
        False,
        description=(
            "serve HTTPS accepting TLS 1.3 only; without `WEB_TLS_CERT` (development only) a self-signed "
            "certificate is made in `$DATA_DIR/tls/`"
        ),
    )
    web_tls_cert: Path | None = Field(
        None, description="PEM certificate chain (required outside development)"
    )
    web_tls_key: Path | None = Field(None, description="PEM private key of WEB_TLS_CERT")
    web_hsts_max_age_s: int = Field(
        31_536_000, ge=0, le=63_072_000, description="`Strict-Transport-Security` max-age, sent over TLS"
    )
    # env: comma-separated CIDRs. X-Forwarded-For is read only when the TCP peer is in one of them, and then
    # the rightmost address not in them is the client; empty = the TCP peer is the client, always.
    web_trusted_proxies: Annotated[tuple[Network, ...], NoDecode] = Field(
        (),
        description=(
            "comma-separated CIDRs whose `X-Forwarded-For` is believed (rightmost untrusted hop = client); "
            "empty: the TCP peer is the client"
        ),
    )
    web_max_body_bytes: int = Field(
        65_536, ge=1_024, le=16 * 1024 * 1024, description="larger request bodies get 413 before any parsing"
    )
    # GET /metrics: loopback peers always; others only with `Authorization: Bearer <METRICS_TOKEN>`.
    metrics_token: SecretStr | None = Field(None, description="bearer token Prometheus sends to /metrics")
    # /docs and /openapi.json: open in development, behind sign-in elsewhere unless this says public.
    web_docs_public: bool | None = Field(
        None, description="`/docs` and `/openapi.json` without sign-in; default: in development only"
    )

    @field_validator("web_trusted_proxies", mode="before")
    @classmethod
    def _split_cidrs(cls, value: object) -> object:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list | tuple):
            networks = []
            for item in value:
                try:
                    networks.append(
                        ipaddress.ip_network(item, strict=False) if isinstance(item, str) else item
                    )
                except ValueError:
                    raise ValueError(f"{item!r} is not an IP network (CIDR)") from None
            return tuple(networks)
        return value

    @field_validator("metrics_token")
    @classmethod
    def _token_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value() == "":
            return None
        if value is not None and len(value.get_secret_value()) < 24:
            raise ValueError("must be at least 24 characters")
        return value

    @model_validator(mode="after")
    def _tls_files_together(self) -> WebServerSettings:
        if (self.web_tls_cert is None) != (self.web_tls_key is None):
            raise ValueError("WEB_TLS_CERT and WEB_TLS_KEY are set together or not at all")
        environment = getattr(self, "environment", "development")
        if self.web_tls and environment != "development" and self.web_tls_cert is None:
            raise ValueError(f"WEB_TLS with ENVIRONMENT={environment!r} needs WEB_TLS_CERT and WEB_TLS_KEY")
        return self

    @property
    def docs_public(self) -> bool:
        if self.web_docs_public is not None:
            return self.web_docs_public
        return getattr(self, "environment", "development") == "development"
