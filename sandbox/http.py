"""The sandbox's HTTP server: one aiohttp application per world, on a chosen or a free port."""

from __future__ import annotations

from typing import Any

from aiohttp import web


async def serve(
    routes: list[tuple[str, str, Any]], *, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, str]:
    """Start an aiohttp server on `host:port` (0: a free port); returns the runner and its base URL."""
    app = web.Application()
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://{host}:{bound}"
