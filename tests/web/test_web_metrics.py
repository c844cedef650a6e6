"""The API's Prometheus endpoint counts requests by route template."""

from __future__ import annotations

from conftest import ClientFactory


async def test_metrics_count_requests_by_route(make_client: ClientFactory) -> None:
    async with make_client() as client:
        assert (await client.get("/api/v1/portfolio")).status_code == 401
        body = (await client.get("/metrics")).text
    assert 'solbot_api_requests_total{route="/api/v1/portfolio",status="401"}' in body
    assert "solbot_api_request_seconds_bucket" in body
