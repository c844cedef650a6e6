"""A trader's first hour in headless Chromium, as README tells it: `solbot run` (the whole stack, the
workers, the dashboard), open the URL it prints, sign in locally with one click, watch trades arrive, halt,
resume, run a backtest from the page and open its report; Ctrl-C; nothing left behind.

What is asserted beyond the page's own state: while halted no buy fills (the API's trade history), after
resume a buy fills again, the report tab shows the backtest page, the run's summary is printed and every
process it started (the dashboard's included) is gone. Screenshots go to the test's tmp dir.

Chromium is Debian's (`make browser`, run by `make test-slow`); when it is missing the test fails saying so.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from cdp import Page, attach_tab, launch_chromium

from tests.integration.conftest import FAST_ENV
from wallet import dev_key

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(1200)]

DASHBOARD_LINE = re.compile(r"^solbot: dashboard (http://127\.0\.0\.1:\d+/)")


class Run:
    """`solbot run` in its own process group, its stdout read line by line in a thread."""

    def __init__(self, data_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("BROKER_URL", "DATABASE_URL", "REDIS_URL")}
        env.update(FAST_ENV, DATA_DIR=str(data_dir), LOG_LEVEL="warning")
        self.data_dir = data_dir
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "solbot.cli", "run", "--rate", "300"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own group, as a shell's foreground job
        )

    async def wait_line(self, pattern: re.Pattern[str], timeout_s: float) -> re.Match[str]:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            line = await asyncio.to_thread(self.proc.stdout.readline)
            if not line:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise AssertionError(f"solbot run ended: {''.join(self.lines)[-2000:]} {err[-2000:]}")
            self.lines.append(line)
            match = pattern.match(line)
            if match:
                return match
        raise AssertionError(f"no line {pattern.pattern} within {timeout_s} s: {''.join(self.lines)[-2000:]}")

    async def interrupt(self) -> tuple[str, str]:
        os.killpg(self.proc.pid, signal.SIGINT)
        out, err = await asyncio.to_thread(self.proc.communicate, timeout=90)
        return out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def leftovers(data_dir: Path) -> list[str]:
    found = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
            env = proc.info["environ"] or {}
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if str(data_dir) in cmd or env.get("DATA_DIR", "").startswith(str(data_dir)):
            found.append(cmd)
    return found


async def api(page: Page, path: str) -> Any:
    """A read through the page's own session (its token), as the page makes them."""
    return await page.evaluate(
        f"""fetch({json.dumps(path)}, {{headers: {{Authorization: 'Bearer ' +
            JSON.parse(sessionStorage.getItem('solbot.tokens')).access_token}}}}).then(r => r.json())"""
    )


async def click(page: Page, selector: str) -> None:
    await page.evaluate(f"document.querySelector({json.dumps(selector)}).click()")


async def filled_buys_since(page: Page, since_ms: int) -> list[dict[str, Any]]:
    page_ = await api(page, f"/api/v1/trades?status=filled&since_ms={since_ms}&limit=200")
    return [t for t in page_["items"] if t["side"] == "buy" and t["filled_ms"] >= since_ms]


async def test_first_hour(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    run = Run(data_dir)
    errors: list[str] = []
    try:
        url = (await run.wait_line(DASHBOARD_LINE, 240)).group(1)
        async with launch_chromium(tmp_path / "chromium") as page:
            page.on(
                "Runtime.exceptionThrown",
                lambda p: errors.append(str(p["exceptionDetails"].get("exception", {}).get("description"))),
            )
            await page.send("Runtime.enable")
            await page.send("Page.enable")
            await page.send("Page.navigate", url=url)

            # One click: the local sign-in as the development owner key.
            # Page.navigate answers before the document is there: poll with expressions that hold on
            # any document (about:blank included).
            await page.wait_for("(n => !!n && !n.hidden)(document.getElementById('local-sign-in'))", 30)
            await page.screenshot(tmp_path / "1-signed-out.png", width=1440)
            await click(page, "#sign-in-local")
            shown = await page.wait_for("document.getElementById('wallet-address').title", 30)
            assert shown == str(dev_key.load_or_create(data_dir).pubkey())
            assert await page.evaluate("document.getElementById('dashboard').hidden") is False

            # Trades arrive: live fills in the list, and in the history's first page.
            await page.wait_for("document.querySelectorAll('#fills li[data-pair]').length > 0", 240)
            await click(page, "#history-filters button[type=submit]")
            await page.wait_for("document.querySelectorAll('#history tr[data-fill]').length > 0", 30)
            await page.screenshot(tmp_path / "2-trading.png", width=1440)

            # Halt: the top bar's button; the badge says so and no buy fills while halted.
            assert await page.evaluate("document.getElementById('halt-state').dataset.halted") == "false"
            await click(page, "#halt-button")
            await page.wait_for("document.getElementById('halt-state').dataset.halted === 'true'", 30)
            halted_ms = int(time.time() * 1000)
            assert (await api(page, "/api/v1/system/trading"))["halted"] is True
            await asyncio.sleep(20)
            late = await filled_buys_since(page, halted_ms + 2000)  # orders already at the venue may land
            assert late == [], f"buys filled while halted: {late}"
            await page.screenshot(tmp_path / "3-halted.png", width=1440)

            # Resume: buys fill again.
            await click(page, "#resume-button")
            await page.wait_for("document.getElementById('halt-state').dataset.halted === 'false'", 30)
            resumed_ms = int(time.time() * 1000)
            deadline = time.monotonic() + 180
            while not await filled_buys_since(page, resumed_ms):
                assert time.monotonic() < deadline, "no buy filled within 180 s of resuming"
                await asyncio.sleep(2)

            # A backtest from the page, then its report in a new tab.
            await click(page, "#backtest-run")
            job = await page.wait_for(
                "(r => r && r.dataset.job)(document.querySelector('#backtests tr[data-status=done]'))", 240
            )
            assert await page.evaluate("document.querySelector('#backtests tr[data-status=failed]')") is None
            await page.screenshot(tmp_path / "4-backtest.png", width=1440)
            await click(page, f"#backtests button[data-report='{job}']")
            async with attach_tab(page, f"/reports/{job}") as report:
                title = await report.wait_for("(h => h && h.textContent)(document.querySelector('h1'))", 30)
                assert title.startswith("Backtest of sim-seed1.jsonl.gz")
                assert await report.evaluate("document.querySelectorAll('table').length") >= 3
                await report.screenshot(tmp_path / "5-report.png", width=1200)
        out, err = await run.interrupt()
    finally:
        run.kill()
    assert run.proc.returncode == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["stopped_by"] == "signal" and summary["fills"] > 0, summary
    assert "Traceback" not in err
    assert leftovers(data_dir) == []
    assert not errors, errors
    print(f"screenshots: {tmp_path}")
