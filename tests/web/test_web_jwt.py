"""The hand-written HS256 JWT: round trip, tampering, wrong key, `alg` tricks, expiry."""

from __future__ import annotations

import base64
import json
import time

import pytest

from web.api import jwt

KEY = b"k" * 32


def test_round_trip() -> None:
    token = jwt.encode({"sub": "w", "exp": time.time() + 60}, KEY)
    assert jwt.decode(token, KEY)["sub"] == "w"


def test_known_vector_matches_rfc_shape() -> None:
    # Same claims and key always give the same token (deterministic HMAC, sorted compact JSON).
    assert jwt.encode({"exp": 1, "sub": "a"}, KEY) == jwt.encode({"sub": "a", "exp": 1}, KEY)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature
        lambda t: (
            t.split(".")[0]
            + "."
            + base64.urlsafe_b64encode(b'{"sub":"x","exp":9999999999}').decode().rstrip("=")
            + "."
            + t.split(".")[2]
        ),  # payload swapped
        lambda t: "not-a-token",
        lambda t: t + ".x",
        lambda t: "é" + t,
    ],
)
def test_tampered_tokens_are_refused(mutate: object) -> None:
    token = jwt.encode({"sub": "w", "exp": time.time() + 60}, KEY)
    with pytest.raises(jwt.TokenInvalid):
        jwt.decode(mutate(token), KEY)  # type: ignore[operator]


def test_wrong_key_and_alg_none_are_refused() -> None:
    token = jwt.encode({"sub": "w", "exp": time.time() + 60}, KEY)
    with pytest.raises(jwt.TokenInvalid):
        jwt.decode(token, b"other" * 8)
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).decode().rstrip("=")
    forged = header + "." + token.split(".")[1] + "."
    with pytest.raises(jwt.TokenInvalid):
        jwt.decode(forged, KEY)


def test_expiry_is_enforced() -> None:
    token = jwt.encode({"sub": "w", "exp": 1000}, KEY)
    assert jwt.decode(token, KEY, now=999)["sub"] == "w"
    with pytest.raises(jwt.TokenInvalid, match="expired"):
        jwt.decode(token, KEY, now=1000)
    with pytest.raises(jwt.TokenInvalid, match="exp"):
        jwt.decode(jwt.encode({"sub": "w"}, KEY), KEY)
