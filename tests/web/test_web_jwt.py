"""Access tokens (PyJWT under `web.api.access_tokens`): round trip, tampering, wrong key, `alg` tricks,
expiry and not-yet-valid times; and through the API, every refused token is the same 401."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt as pyjwt
import pytest
from conftest import SECRET, ClientFactory, bearer, sign_in
from solders.keypair import Keypair

from web.api import access_tokens as jwt

KEY = b"k" * 32


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_round_trip() -> None:
    token = jwt.encode({"sub": "w", "exp": time.time() + 60}, KEY)
    assert jwt.decode(token, KEY)["sub"] == "w"


def test_known_vector_matches_rfc_shape() -> None:
    # Same claims and key always give the same token (deterministic HMAC, sorted compact JSON).
    assert jwt.encode({"exp": 1, "sub": "a"}, KEY) == jwt.encode({"sub": "a", "exp": 1}, KEY)


def test_tokens_are_the_bytes_the_hand_written_encoder_issued() -> None:
    """Made by the hand-written `web/api/jwt.py` this replaced: tokens issued before the change still hold."""
    claims = {"sub": "w", "sid": "s", "iat": 1700000000, "exp": 1700003600, "jti": "j"}
    assert jwt.encode(claims, KEY) == (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiaiIsInNpZCI6InMiLCJzdWIiOiJ3In0."
        "YaSH6-tGw2r0pM2fHve3meBrjQOx8VZfZPIvkM_NQh8"
    )


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
    # Adapted: the hand-written decoder took `now=` to test its clock; PyJWT reads the clock itself, so
    # the same boundary is checked with real times. A token is dead from its `exp` second on: `exp` equal
    # to the current whole second (<= now) is expired, one a minute ahead is not.
    ahead = jwt.encode({"sub": "w", "exp": int(time.time()) + 60}, KEY)
    assert jwt.decode(ahead, KEY)["sub"] == "w"
    with pytest.raises(jwt.TokenInvalid, match="expired"):
        jwt.decode(jwt.encode({"sub": "w", "exp": int(time.time())}, KEY), KEY)
    with pytest.raises(jwt.TokenInvalid, match="exp"):
        jwt.decode(jwt.encode({"sub": "w"}, KEY), KEY)


def test_other_algorithms_and_not_yet_valid_times_are_refused() -> None:
    now = int(time.time())
    live = {"sub": "w", "exp": now + 600}
    long_key = b"k" * 64  # long enough for HS512 too: only the algorithm differs
    for alg in ("HS384", "HS512"):  # signed with the right key, but not the algorithm solbot issues
        with pytest.raises(jwt.TokenInvalid, match="alg value is not allowed"):
            jwt.decode(pyjwt.encode(live, long_key, algorithm=alg), long_key)
    with pytest.raises(jwt.TokenInvalid, match="not yet valid"):
        jwt.decode(jwt.encode({**live, "nbf": now + 300}, KEY), KEY)
    with pytest.raises(jwt.TokenInvalid, match="not yet valid"):
        jwt.decode(jwt.encode({**live, "iat": now + 300}, KEY), KEY)
    assert jwt.decode(jwt.encode({**live, "iat": now, "nbf": now}, KEY), KEY)["sub"] == "w"
    for bad_exp in ("soon", None, [1]):  # a malformed time claim is refused, never a 500
        with pytest.raises(jwt.TokenInvalid):
            jwt.decode(jwt.encode({"sub": "w", "exp": bad_exp}, KEY), KEY)


async def test_every_refused_token_is_the_same_401(make_client: ClientFactory, owner: Keypair) -> None:
    """Through the API: `alg: none`, another key, a past `exp`, a future `nbf`/`iat` and an altered
    payload each answer 401 with the one error body, while the genuine token is accepted."""
    key = SECRET.encode()
    async with make_client() as client:
        tokens = await sign_in(client, owner)
        assert (await client.get("/api/v1/auth/me", headers=bearer(tokens))).status_code == 200
        claims = pyjwt.decode(tokens["access_token"], key, algorithms=["HS256"])
        now = int(time.time())
        header, _, signature = tokens["access_token"].split(".")
        refused = {
            "alg none": _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(claims) + ".",
            "wrong key": jwt.encode(claims, b"another-secret-that-is-long-enough-for-hs256"),
            "expired": jwt.encode({**claims, "exp": now - 1}, key),
            "future nbf": jwt.encode({**claims, "nbf": now + 300}, key),
            "future iat": jwt.encode({**claims, "iat": now + 300}, key),
            "tampered payload": f"{header}.{_b64({**claims, 'sub': str(Keypair().pubkey())})}.{signature}",
        }
        for what, token in refused.items():
            response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, what
            assert response.json() == {
                "error": {"code": "unauthorized", "message": "invalid or expired access token"}
            }, what
            assert response.headers["www-authenticate"] == "Bearer", what
