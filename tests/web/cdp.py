"""A small Chrome DevTools Protocol client over `websockets`, enough to drive Debian's headless Chromium.

`launch_chromium()` starts the browser on a free debugging port (read back from `DevToolsActivePort`) and
`Page` speaks to its first tab: commands are matched to replies by id by one reader task, events go to
handlers registered per method. No browser is ever downloaded: `/usr/bin/chromium` must exist
(`make browser`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import websockets

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)


class CdpError(Exception):
    """The browser answered a command with an error, or a page expression threw."""


class Page:
    def __init__(self, ws: Any, devtools_port: int = 0) -> None:
        self._ws = ws
        self.devtools_port = devtools_port  # the browser's DevTools HTTP port: other tabs are found there
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._handlers: dict[str, list[Callable[[dict[str, Any]], None]]] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self._ws:
            message = json.loads(raw)
            if "id" in message:
                future = self._waiting.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message)
            else:
                for handler in self._handlers.get(message.get("method", ""), []):
                    handler(message.get("params", {}))

    def on(self, method: str, handler: Callable[[dict[str, Any]], None]) -> None:
        self._handlers.setdefault(method, []).append(handler)

    async def send(self, method: str, timeout_s: float = 30.0, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        await self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        reply = await asyncio.wait_for(future, timeout_s)
        if "error" in reply:
            raise CdpError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    async def evaluate(self, expression: str) -> Any:
        """The JSON value of `expression` in the page (promises awaited)."""
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CdpError(details.get("exception", {}).get("description") or details.get("text"))
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout_s: float, interval_s: float = 0.25) -> Any:
        """Poll `expression` until it is truthy; its value, or `TimeoutError` naming it."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"page never satisfied: {expression}")
            await asyncio.sleep(interval_s)

    async def screenshot(self, path: Path, *, width: int) -> Path:
        """The whole page: the viewport is stretched to the page's height so sticky bars sit at the end."""
        height = int(await self.evaluate("document.documentElement.scrollHeight"))
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        data = await self.send("Page.captureScreenshot", format="png")
        await asyncio.to_thread(path.write_bytes, base64.b64decode(data["data"]))
        return path

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader
        await self._ws.close()


@asynccontextmanager
async def launch_chromium(
    user_data_dir: Path, *, width: int = 1440, height: int = 1100
) -> AsyncIterator[Page]:
    """Headless Chromium with a fresh profile; yields its first tab; kills the browser's whole group."""
    if not await asyncio.to_thread(CHROMIUM.exists):
        raise FileNotFoundError(f"{CHROMIUM} is missing: run `make browser`")
    await asyncio.to_thread(user_data_dir.mkdir, parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        *[
            str(CHROMIUM),
            *FLAGS,
            f"--user-data-dir={user_data_dir}",
            f"--window-size={width},{height}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so the renderers die with it
    )
    page: Page | None = None
    try:
        port_file = user_data_dir / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        text = ""
        while not text:
            if proc.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start (exit code {proc.returncode})")
            await asyncio.sleep(0.1)
            text = await asyncio.to_thread(_read_if_exists, port_file)
        port = int(text.splitlines()[0])
        async with httpx.AsyncClient() as client:
            targets = (await client.get(f"http://127.0.0.1:{port}/json/list")).json()
        url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        ws = await websockets.connect(url, max_size=64 * 1024 * 1024)
        page = Page(ws, port)
        await page.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        yield page
    finally:
        if page is not None:
            await page.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()


@asynccontextmanager
async def attach_tab(page: Page, url_part: str, timeout_s: float = 30.0) -> AsyncIterator[Page]:
    """Another tab of `page`'s browser (one the page opened), found by a part of its URL."""
    deadline = time.monotonic() + timeout_s
    url = None
    async with httpx.AsyncClient() as client:
        while url is None:
            targets = (await client.get(f"http://127.0.0.1:{page.devtools_port}/json/list")).json()
            url = next(
                (
                    t["webSocketDebuggerUrl"]
                    for t in targets
                    if t.get("type") == "page" and url_part in t.get("url", "")
                ),
                None,
            )
            if url is None:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no tab opened at {url_part}: {[t.get('url') for t in targets]}")
                await asyncio.sleep(0.25)
    ws = await websockets.connect(url, max_size=64 * 1024 * 1024)
    tab = Page(ws, page.devtools_port)
    try:
        yield tab
    finally:
        await tab.close()


def _read_if_exists(path: Path) -> str:
    """The file's text, or "" while Chromium has not written it yet."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""
