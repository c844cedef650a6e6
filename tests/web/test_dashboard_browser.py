"""The dashboard in headless Chromium against the real embedded stack: a worker trading the simulator's
market, the API in a thread, the page signed in through an injected test signer whose key stays here.

What is asserted: sign-in through the page; two different live price readings in the DOM; a strategy
parameter changed through the form lands in Postgres; a position's Close button gets a 202 and its
`ManualRequest` is on `control.manual`; the risk agent turns it into a `manual` exit order and its fill
(a sell of the pair) arrives; no uncaught
page errors. A screenshot is saved in the test's tmp dir and its path printed.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import uvicorn
from cdp import Page, launch_chromium
from solders.keypair import Keypair

from core.settings import Settings, load_settings
from services.process import free_port
from services.stack import Stack
from solbot.audit import read_topic
from tests.integration.harness import running_pipeline
from web.api.app import create_app

# No skip when Chromium is missing: `make test` installs it (`make browser`), and a browser test that
# quietly does not run would prove nothing.
pytestmark = [pytest.mark.slow, pytest.mark.integration]

FAST_ENV = {  # thresholds low enough that a short run trades (as in tests/integration)
    "SNAPSHOT_INTERVAL_MS": "250",
    "LABEL_HORIZON_MS": "2000",
    "MODEL_WARMUP_LABELS": "10",
    "STRATEGY_COST_BPS": "2",
    "MIN_CONFIDENCE": "0.5",
}

SIGNER_JS = """
(() => {
  const pending = new Map();
  let next = 0;
  window.__solbotSigned = (id, bytes) => { pending.get(id)(new Uint8Array(bytes)); pending.delete(id); };
  window.__SOLBOT_TEST_SIGNER__ = {
    publicKey: %s,
    signMessage: (bytes) => new Promise((resolve) => {
      const id = ++next;
      pending.set(id, resolve);
      window.__solbotSign(JSON.stringify({ id, message: Array.from(bytes) }));
    }),
  };
})();
"""


CLOSE_BUTTON = (
    "(b => b && !b.disabled && b.dataset.pair)(document.querySelector('#positions button[data-pair]'))"
)
DIAGNOSE = """JSON.stringify({
  positions: document.getElementById('positions-state').textContent,
  rows: document.querySelectorAll('#positions tr').length,
  fills: [...document.querySelectorAll('#fills li')].map(li => li.textContent).slice(0, 5),
  balance: document.getElementById('total-balance').textContent,
})"""


A11Y = """[...document.querySelectorAll('input, button, [role=tab]')]
  .filter(n => n.tagName === 'INPUT'
    ? n.labels.length === 0
    : !(n.getAttribute('aria-label') || n.textContent.trim()))
  .map(n => n.outerHTML.slice(0, 80))"""


@pytest.fixture
def owner() -> Keypair:
    return Keypair()


@pytest.fixture
def browser_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, owner: Keypair) -> Settings:
    for key, value in FAST_ENV.items():
        monkeypatch.setenv(key, value)
    for name in ("BROKER_URL", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    return load_settings(
        data_dir=tmp_path / "data",
        broker_url=None,
        database_url=None,
        redis_url=None,
        embedded_broker_sasl=False,  # plaintext like the shared stacks: the test reads topics directly
        owner_wallet=str(owner.pubkey()),
        jwt_secret="browser-test-secret-long-enough-for-hs256!",
    )


@pytest.fixture
def browser_stack(browser_settings: Settings) -> Iterator[Stack]:
    with Stack(browser_settings) as stack:
        yield stack


@asynccontextmanager
async def serving_api(settings: Settings, stack: Stack) -> AsyncIterator[str]:
    """The API (and page) served by uvicorn in a thread on a free port.

    Start it only after `prepare` created the topics: the bridge's consumer subscribing to a missing
    topic makes the broker auto-create it with its default partition count, which the worker's
    one-partition decision topics then do not match (the worker crashes with "Unrecognized partition").
    """
    resolved = settings.model_copy(
        update={
            "database_url": stack.database_url,
            "redis_url": stack.redis_url,
            "broker_url": stack.broker_url,
        }
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(resolved), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the API did not start")
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 15)


def install_signer(page: Page, keypair: Keypair) -> None:
    """Sign in the page's name with `keypair`: the page calls a CDP binding, we answer with the bytes."""

    def on_binding(params: dict[str, Any]) -> None:
        if params.get("name") != "__solbotSign":
            return
        request = json.loads(params["payload"])
        signature = bytes(keypair.sign_message(bytes(request["message"])))
        asyncio.get_running_loop().create_task(
            page.evaluate(f"window.__solbotSigned({int(request['id'])}, {list(signature)})")
        )

    page.on("Runtime.bindingCalled", on_binding)


async def fill_input(page: Page, selector: str, value: str) -> None:
    """Type a value the way a user would (focus, set, input and change events)."""
    await page.evaluate(
        f"""(() => {{
          const input = document.querySelector({json.dumps(selector)});
          input.focus();
          input.value = {json.dumps(value)};
          input.dispatchEvent(new Event('input', {{bubbles: true}}));
          input.dispatchEvent(new Event('change', {{bubbles: true}}));
          return true;
        }})()"""
    )


async def test_dashboard_in_chromium(
    tmp_path: Path, browser_settings: Settings, browser_stack: Stack, owner: Keypair
) -> None:
    errors: list[str] = []
    async with (
        running_pipeline(browser_settings, browser_stack, seed=11, rate_eps=300, duration_s=150) as p,
        serving_api(browser_settings, browser_stack) as api_url,
        launch_chromium(tmp_path / "chromium") as page,
    ):
        page.on(
            "Runtime.exceptionThrown",
            lambda params: errors.append(
                str(params["exceptionDetails"].get("exception", {}).get("description"))
            ),
        )
        await page.send("Runtime.enable")
        await page.send("Page.enable")
        await page.send("Runtime.addBinding", name="__solbotSign")
        install_signer(page, owner)
        await page.send(
            "Page.addScriptToEvaluateOnNewDocument", source=SIGNER_JS % json.dumps(str(owner.pubkey()))
        )
        await page.send("Page.navigate", url=f"{api_url}/")
        await page.wait_for("document.readyState === 'complete' && !!window.LightweightCharts", 20)

        await page.screenshot(tmp_path / "signed-out.png", width=1440)
        visible = "(n => n.getClientRects().length > 0)(document.getElementById('dashboard'))"
        assert await page.evaluate(visible) is False, "the dashboard shows before sign-in"
        # Keyboard first: Tab reaches the skip link, then the navigation, in document order.
        for _ in range(2):
            await page.send(
                "Input.dispatchKeyEvent", type="keyDown", key="Tab", code="Tab", windowsVirtualKeyCode=9
            )
            await page.send(
                "Input.dispatchKeyEvent", type="keyUp", key="Tab", code="Tab", windowsVirtualKeyCode=9
            )
        assert await page.evaluate("document.activeElement.getAttribute('href')") == "#chart-panel"

        # Sign in through the page.
        await page.evaluate("document.getElementById('sign-in-main').click()")
        shown = await page.wait_for("document.getElementById('wallet-address').title", 20)
        assert shown == str(owner.pubkey())
        assert await page.evaluate("document.getElementById('dashboard').hidden") is False

        # Prices move: two different readings of the last price.
        first = await page.wait_for(
            "(t => t !== '—' && t)(document.getElementById('last-price').textContent)", 60
        )
        second = await page.wait_for(
            f"(t => t !== '—' && t !== {json.dumps(first)} && t)"
            "(document.getElementById('last-price').textContent)",
            60,
        )
        assert first != second
        assert await page.evaluate("document.getElementById('ws-status').textContent") == "Live"

        # Change a risk parameter through the form.
        await page.wait_for("document.querySelector('form[data-strategy=ml_signal]')", 20)
        assert await page.evaluate(A11Y) == [], "controls without a label or accessible name"
        await fill_input(page, "#strategy-ml_signal-stop_loss_pct", "3.7")
        await page.evaluate(
            "document.querySelector('form[data-strategy=ml_signal] button[type=submit]').click()"
        )
        result = await page.wait_for(
            "(n => n && n.classList.contains('ok') && n.textContent)"
            "(document.querySelector('form[data-strategy=ml_signal] .form-result'))",
            20,
        )
        assert result.startswith("Saved")
        conn = await asyncpg.connect(browser_stack.database_url)
        try:
            stop_loss = await conn.fetchval(
                "SELECT stop_loss_pct FROM strategy_params WHERE name = 'ml_signal'"
            )
        finally:
            await conn.close()
        assert stop_loss == pytest.approx(3.7)

        await page.screenshot(tmp_path / "dashboard-before-close.png", width=1440)

        # Close a position: wait for one (the worker has to trade first), click Close. With this test's
        # eager thresholds the strategy may sell the position itself between the page's refresh and the
        # click (risk then answers "no position"), so a close is tried on a freshly shown position again.
        later: list[dict[str, Any]] = []
        for _attempt in range(5):
            try:
                pair = await page.wait_for(CLOSE_BUTTON, 120)
            except TimeoutError:
                raise AssertionError(
                    f"no open position on the page: {await page.evaluate(DIAGNOSE)}"
                ) from None
            clicked_ms = int(time.time() * 1000)
            await page.evaluate(
                f"document.querySelector('#positions button[data-pair={json.dumps(pair)}]').click()"
            )
            try:
                request_id = await page.wait_for(
                    f"(b => b && b.dataset.status === '202' && b.dataset.requestId)"
                    f"(document.querySelector('#positions button[data-pair={json.dumps(pair)}]'))",
                    20,
                )
            except TimeoutError:
                # The close can be filled (and the row, with its button, re-drawn without the position)
                # before the answer reaches the page: the request on the topic says whether it was made.
                request_id = None
            manual = [
                r
                for r in await read_topic(p.bootstrap, "control.manual")
                if (r.get("id") == request_id if request_id else r.get("ts_ms", 0) >= clicked_ms)
                and r.get("pair") == pair
            ]
            if not manual:
                continue  # the position went away before the click reached the API: try again
            assert manual[0]["action"] == "close" and manual[0]["pair"] == pair
            assert manual[0]["wallet"] == str(owner.pubkey())
            deadline = time.monotonic() + 20
            while not later and time.monotonic() < deadline:
                fills = await read_topic(p.bootstrap, "fills")
                later = [
                    f
                    for f in fills
                    if f.get("pair") == pair
                    and str(f.get("order_id", "")).endswith(":manual")
                    and f.get("filled_ms", 0) >= clicked_ms
                ]
                await asyncio.sleep(1.0)
            if later:
                break
        assert later, "no fill of a manual exit after five close attempts"
        assert later[0]["status"] == "filled" and later[0]["side"] == "sell"

        await asyncio.sleep(1.5)  # let the fill reach the page (markers, fills list)
        shot = await page.screenshot(tmp_path / "dashboard.png", width=1440)
        print(f"dashboard screenshot: {shot}")
    assert not errors, errors
