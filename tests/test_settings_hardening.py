"""Settings of issue 19: the Redis password joined into the URL, proxies as CIDRs, TLS files together,
and no secret in any error line."""

from __future__ import annotations

import ipaddress

import pytest
import redis

from core.errors import ConfigError
from core.settings import load_settings


def test_redis_password_is_joined_into_the_url() -> None:
    settings = load_settings(redis_url="redis://redis:6379/0", redis_password="p@ss/w rd")
    assert settings.redis_url == "redis://:p%40ss%2Fw%20rd@redis:6379/0"
    pool = redis.ConnectionPool.from_url(settings.redis_url)
    assert pool.connection_kwargs["password"] == "p@ss/w rd"  # what redis-py will send in AUTH
    kept = load_settings(redis_url="redis://:inline@redis:6379/0", redis_password="other")
    assert kept.redis_url == "redis://:inline@redis:6379/0"


def test_trusted_proxies_are_networks() -> None:
    settings = load_settings(web_trusted_proxies="10.0.0.0/8, 127.0.0.1 ,::1")
    assert settings.web_trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("::1/128"),
    )
    with pytest.raises(ConfigError, match="WEB_TRUSTED_PROXIES"):
        load_settings(web_trusted_proxies="10.0.0.0/8,proxy.example")


def test_secrets_never_in_errors() -> None:
    with pytest.raises(ConfigError) as short_token:
        load_settings(metrics_token="short-secret")
    assert "short-secret" not in str(short_token.value)
    with pytest.raises(ConfigError) as model_level:
        load_settings(
            web_tls=True, environment="staging", jwt_secret="s" * 40, redis_password="hunter2hunter2"
        )
    assert "s" * 40 not in str(model_level.value) and "hunter2" not in str(model_level.value)
