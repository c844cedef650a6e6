"""A local JSON-RPC server answering each POST with the next scripted (status, headers, body, delay), or
with what `respond` makes of the request.

It records every request's JSON body and headers, so tests see exactly what the client sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Answer:
    status: int = 200
    body: Any = None  # a str is sent as is (not JSON-encoded)
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def result(value: Any, rid: int = 1) -> Answer:
    return Answer(body={"jsonrpc": "2.0", "result": value, "id": rid})


def error(code: int, message: str, data: Any = None, *, status: int = 200, **headers: str) -> Answer:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return Answer(status, {"jsonrpc": "2.0", "error": err, "id": 1}, dict(headers))


class ScriptedRpc:
    def __init__(self) -> None:
        self.script: list[Answer] = []
        self.respond: Callable[[dict[str, Any]], Awaitable[Answer]] | None = None  # instead of the script
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.peers: list[tuple[str, int]] = []  # the client's address of each request: its connection
        self.url = ""
        self._runner: web.AppRunner | None = None

    def then(self, *answers: Answer) -> None:
        self.script.extend(answers)

    async def __aenter__(self) -> ScriptedRpc:
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        assert request.transport is not None
        self.peers.append(request.transport.get_extra_info("peername"))
        answer = await self.respond(body) if self.respond is not None else self.script.pop(0)
        if answer.delay_s:
            await asyncio.sleep(answer.delay_s)
        if isinstance(answer.body, str):
            return web.Response(status=answer.status, text=answer.body, headers=answer.headers)
        return web.json_response(answer.body, status=answer.status, headers=answer.headers)
