"""A property-based fuzz of every route in the OpenAPI document beside the schemathesis run: random
JSON bodies (free-form, and shaped by each request schema's property names) and random query values,
signed in or not. The property: no request makes the API answer 5xx.

Hypothesis generates the cases up front (a sync `@given` collecting them) and one app serves them all:
starting the app's lifespan per example would cost more than the requests themselves. The failing case
is printed in full instead of shrunk.
"""

from __future__ import annotations

from typing import Any

from conftest import ClientFactory, bearer, sign_in
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair

from core.settings import Settings, load_settings
from streams.broker import bootstrap_of, create_topics
from web.api.app import create_app
from web.api.ratelimit import DEFAULT_LIMITS, Limit

EXAMPLES = 400
UNLIMITED = {group: Limit(1_000_000) for group in DEFAULT_LIMITS}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
query_values = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-(2**64), max_value=2**64).map(str),
    st.sampled_from(["", "0", "-1", "filled", "failed", "SOL/USDC", "9" * 25]),
)


def operations(spec: dict[str, Any]) -> list[tuple[str, str, list[str], list[str]]]:
    """(method, path, query parameter names, request body property names) of every operation."""
    schemas = spec.get("components", {}).get("schemas", {})
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            query = [p["name"] for p in op.get("parameters", []) if p.get("in") == "query"]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            ref = body.get("$ref", "")
            props = list(schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})) if ref else []
            found.append((method.upper(), path, query, props))
    return found


def cases_for(ops: list[tuple[str, str, list[str], list[str]]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def case(draw: st.DrawFn) -> dict[str, Any]:
        method, path, query, props = draw(st.sampled_from(ops))
        params = {name: draw(query_values) for name in query if draw(st.booleans())}
        if props and draw(st.booleans()):
            body: Any = {name: draw(json_values) for name in props if draw(st.integers(0, 4))}
        else:
            body = draw(json_values)
        return {
            "method": method,
            "path": path,
            "params": params,
            "json": body,
            "signed_in": draw(st.booleans()),
        }

    return case()


def generate(strategy: st.SearchStrategy[dict[str, Any]]) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []

    @settings(max_examples=EXAMPLES, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(case: dict[str, Any]) -> None:
        cases.append(case)

    collect()
    return cases


def test_every_route_is_listed() -> None:
    settings = load_settings(database_url="postgresql://x/y", redis_url="redis://x", jwt_secret="x" * 40)
    paths = {(m, p) for m, p, _, _ in operations(create_app(settings).openapi())}
    assert ("POST", "/api/v1/orders") in paths and ("PUT", "/api/v1/strategy") in paths
    assert len(paths) >= 12


async def test_no_request_gets_a_5xx(
    make_client: ClientFactory, owner: Keypair, web_settings: Settings
) -> None:
    assert web_settings.broker_url is not None
    await create_topics(bootstrap_of(web_settings.broker_url), 1)
    async with make_client(rate_limits=UNLIMITED) as client:
        headers = bearer(await sign_in(client, owner))
        cases = generate(cases_for(operations(client.app.openapi())))  # type: ignore[attr-defined]
        statuses: dict[int, int] = {}
        for case in cases:
            response = await client.request(
                case["method"],
                case["path"],
                params=case["params"],
                json=case["json"],
                headers=headers if case["signed_in"] else {},
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            assert response.status_code < 500, (case, response.text)
    assert len(cases) >= EXAMPLES // 2
    assert statuses.get(400, 0) > 0 and statuses.get(401, 0) > 0, statuses
    print(f"fuzzed {len(cases)} requests: {dict(sorted(statuses.items()))}")
