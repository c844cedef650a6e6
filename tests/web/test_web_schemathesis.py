"""Schema-driven fuzz with schemathesis: for every operation in the app's own OpenAPI document, cases that
conform to it (positive) and cases that break it on purpose (negative), sent signed in. The property: no
request gets a 5xx, and every error answer is the documented JSON error object, never a stack trace.

Schemathesis generates the cases (hypothesis strategies per operation); one running app serves them all
through the same in-process client as the other API tests, because starting the app's lifespan (database,
Redis, broker) per example would cost more than the requests.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
import schemathesis
from conftest import ClientFactory, bearer, sign_in
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from solders.keypair import Keypair

from core.settings import Settings
from streams.broker import bootstrap_of, create_topics
from web.api.ratelimit import DEFAULT_LIMITS, Limit

EXAMPLES_PER_MODE = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))
DEEP_EXAMPLES_PER_MODE = 100
UNLIMITED = {group: Limit(1_000_000) for group in DEFAULT_LIMITS}


def generated_cases(spec: dict[str, Any], examples: int = EXAMPLES_PER_MODE) -> list[tuple[str, Any]]:
    """(mode, schemathesis Case) for every operation and both generation modes."""
    schema = schemathesis.openapi.from_dict(spec)
    found: list[tuple[str, Any]] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            found.extend(
                (mode.value, case)
                for case in draw_cases(operation.as_strategy(generation_mode=mode), examples)
            )
    return found


# The widths an integer `format` names (OpenAPI 3.1 data types); one past each end is the boundary a
# fixed-width column (Postgres bigint) overflows on, and a value random draws seldom hit.
FORMAT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def integer_format(schema: dict[str, Any]) -> tuple[int, int] | None:
    """The range a parameter's schema (or its non-null `anyOf` branch) declares with an integer format."""
    for branch in [schema, *schema.get("anyOf", [])]:
        if branch.get("type") == "integer" and branch.get("format") in FORMAT_RANGES:
            return FORMAT_RANGES[branch["format"]]
    return None


def boundary_cases(spec: dict[str, Any]) -> list[tuple[str, Any]]:
    """A targeted strategy beside the random draws: for every query parameter the schema says is an int32 or
    int64, a schema-valid case of its operation with that parameter at each end of the format's range and
    one past it. So a missing bound is found on every run (issue 19: `cursor=2**63` was a 500)."""
    schema = schemathesis.openapi.from_dict(spec)
    found: list[tuple[str, Any]] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        params = operation.definition.raw.get("parameters", [])
        ranged = [(p["name"], integer_format(p.get("schema", {}))) for p in params if p.get("in") == "query"]
        ranged = [(name, bounds) for name, bounds in ranged if bounds is not None]
        if not ranged:
            continue
        base = draw_cases(operation.as_strategy(generation_mode=GenerationMode.POSITIVE), 1)[0]
        for name, (low, high) in ranged:
            for value in (low - 1, low, high, high + 1):
                # No generated Authorization header: the case is sent signed in, so it reaches the handler.
                case = operation.Case(query={**(base.query or {}), name: value})
                found.append(("boundary", case))
    return found


def draw_cases(strategy: Any, examples: int) -> list[Any]:
    cases: list[Any] = []

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=True,  # the same cases every run: a failure reproduces, a pass means the same thing
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(case: Any) -> None:
        cases.append(case)

    try:
        collect()
    except Unsatisfiable:
        return []  # negative mode has nothing to break in an operation without inputs
    return cases


def request_of(case: Any, auth: dict[str, str]) -> dict[str, Any]:
    """httpx keyword arguments for a case; the bearer token unless the case sets Authorization itself."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    headers = {k: str(v) for k, v in (kwargs.get("headers") or {}).items()}
    headers.pop("X-Schemathesis-TestCaseId", None)
    for name, value in auth.items():
        headers.setdefault(name, value)
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": headers,
        "params": kwargs.get("params") or None,
        "cookies": kwargs.get("cookies") or None,
    }
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        request["content"] = kwargs["data"]
    return request


async def test_schemathesis_finds_no_5xx(
    make_client: ClientFactory, owner: Keypair, web_settings: Settings
) -> None:
    await fuzz(make_client, owner, web_settings, EXAMPLES_PER_MODE)


@pytest.mark.slow
async def test_schemathesis_deep_finds_no_5xx(
    make_client: ClientFactory, owner: Keypair, web_settings: Settings
) -> None:
    """Enough cases to have found the two 500s of issue 19 (`cursor` past bigint, a huge `since_ms`):
    run against the code before their fix, this test lists both."""
    await fuzz(make_client, owner, web_settings, DEEP_EXAMPLES_PER_MODE)


async def fuzz(make_client: ClientFactory, owner: Keypair, web_settings: Settings, examples: int) -> None:
    assert web_settings.broker_url is not None
    await create_topics(bootstrap_of(web_settings.broker_url), 1)
    async with make_client(rate_limits=UNLIMITED) as client:
        auth = bearer(await sign_in(client, owner))
        spec = client.app.openapi()  # type: ignore[attr-defined]
        cases = generated_cases(spec, examples) + boundary_cases(spec)
        operations = {case.operation.label for _, case in cases}
        statuses: dict[str, dict[int, int]] = {"positive": {}, "negative": {}, "boundary": {}}
        server_errors: list[str] = []
        for mode, case in cases:
            try:
                response = await client.request(**request_of(case, auth))
            except httpx.InvalidURL:
                continue  # a path parameter httpx itself refuses to put in a URL never reaches the app
            counts = statuses[mode]
            counts[response.status_code] = counts.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                server_errors.append(f"{mode}: {case.as_curl_command()} -> {response.status_code}")
            if response.status_code >= 400 and response.headers.get("content-type", "").startswith(
                "application/json"
            ):
                assert "Traceback" not in response.text, response.text
            if "/auth/" in case.path:  # a logout or refresh may have ended the session the rest relies on
                auth = bearer(await sign_in(client, owner))
    assert not server_errors, "\n".join(server_errors)
    assert len(operations) >= 12, operations
    assert any(code < 300 for code in statuses["positive"]), statuses  # schema-valid requests do succeed
    assert any(400 <= code < 500 for code in statuses["negative"]), statuses  # invalid ones are refused
    assert any(code < 300 for code in statuses["boundary"]), statuses  # the boundary reaches the handler
    print(f"schemathesis: {len(cases)} cases over {len(operations)} operations: {statuses}")
