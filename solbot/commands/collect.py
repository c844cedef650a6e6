"""`solbot collect [--duration S]`: run the enabled live collectors into the broker until Ctrl-C.

Each collector is off until its setting turns it on (COLLECT_CHAIN, COLLECT_JUPITER, COLLECT_DRIFT), so
nothing reaches a public endpoint by accident. The broker is BROKER_URL, else the one `solbot services
up` started; like `solbot topics`, this never starts a broker of its own (records sent into a fresh
in-memory broker nobody reads would be lost on exit).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from typing import Any

import orjson

from chain.rpc import RpcClient
from collectors.chain_collector import ChainCollector
from collectors.feeds import DriftCollector, JupiterCollector
from collectors.sink import KafkaSink
from collectors.solana_ws import SolanaWsClient
from core.settings import Settings
from market.venues import VenueName
from solbot.commands.topics import broker_bootstrap
from streams.broker import create_topics
from streams.broker_auth import broker_auth
from streams.topics import DLQ_RAW, RAW_LAUNCHES, RAW_PERPS, RAW_QUOTES, RAW_SWAPS
from venues.drift.data import DriftClient
from venues.jupiter.data import JupiterClient
from venues.raydium.data import RaydiumPoolResolver

OUTPUT_TOPICS = (RAW_SWAPS, RAW_LAUNCHES, RAW_QUOTES, RAW_PERPS, DLQ_RAW)
JUPITER, DRIFT = VenueName.JUPITER.value, VenueName.DRIFT.value  # collectors named after their venue


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("collect", help="run the enabled live collectors (chain, Jupiter, Drift)")
    p.add_argument("--duration", type=float, default=None, help="stop after N seconds (default: Ctrl-C)")


def enabled_collectors(settings: Settings) -> list[str]:
    flags = (
        ("chain", settings.collect_chain),
        (JUPITER, settings.collect_jupiter),
        (DRIFT, settings.collect_drift),
    )
    return [name for name, on in flags if on]


def main(settings: Settings, args: argparse.Namespace) -> int:
    enabled = enabled_collectors(settings)
    if not enabled:
        print(
            "solbot: no collector enabled: set COLLECT_CHAIN, COLLECT_JUPITER or COLLECT_DRIFT to true",
            file=sys.stderr,
        )
        return 2
    bootstrap = broker_bootstrap(settings)
    if bootstrap is None:
        print("solbot: no broker: set BROKER_URL or start one with `solbot services up`", file=sys.stderr)
        return 1
    try:
        summary = asyncio.run(_collect(settings, bootstrap, enabled, args.duration))
    except KeyboardInterrupt:  # Ctrl-C before the loop's own handler was installed
        return 130
    print(orjson.dumps(summary).decode(), flush=True)
    return 0


async def _collect(
    settings: Settings, bootstrap: str, enabled: list[str], duration_s: float | None
) -> dict[str, Any]:
    """Run until the duration passes or SIGINT/SIGTERM; then stop every collector and flush the producer."""
    started = time.monotonic()
    auth = broker_auth(settings)
    await create_topics(bootstrap, settings.topic_partitions, auth)
    sink = KafkaSink(
        bootstrap,
        linger_ms=settings.producer_linger_ms,
        topics=tuple(t.name for t in OUTPUT_TOPICS),
        auth=auth,
    )
    await sink.start()
    tasks: list[asyncio.Task[None]] = []
    closers: list[Any] = []
    summary: dict[str, Any] = {}
    ws: SolanaWsClient | None = None
    chain: ChainCollector | None = None
    jupiter: JupiterCollector | None = None
    drift: DriftCollector | None = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Said once the handlers are in place: from here on Ctrl-C is a clean stop.
    print(f"solbot: collecting {', '.join(enabled)} into kafka://{bootstrap}", flush=True)
    try:
        if "chain" in enabled:
            assert settings.solana_ws_url is not None  # derived from the RPC URL by the settings
            ws = SolanaWsClient(settings.solana_ws_url, stall_s=settings.solana_ws_stall_s)
            resolver = None
            if settings.collect_raydium_pools:
                rpc = RpcClient(settings.solana_rpc_url)
                closers.append(rpc)
                resolver = RaydiumPoolResolver(rpc)
            chain = ChainCollector(sink, pool_lookup=resolver, new_curve_limit=settings.collect_new_curves)
            closers.append(chain)
            chain.attach(ws, accounts=settings.collect_accounts)
            tasks.append(asyncio.create_task(ws.run(), name="chain"))
        if JUPITER in enabled:
            jclient = JupiterClient(settings.jupiter_api_url, api_key=settings.jupiter_api_key)
            await jclient.start()
            closers.append(jclient)
            jupiter = JupiterCollector(jclient, sink, settings.pairs, poll_s=settings.jupiter_poll_s)
            tasks.append(asyncio.create_task(jupiter.run(), name=JUPITER))
        if DRIFT in enabled:
            dclient = DriftClient(settings.drift_dlob_url, settings.drift_data_url)
            await dclient.start()
            closers.append(dclient)
            drift = DriftCollector(dclient, sink, settings.drift_markets, poll_s=settings.drift_poll_s)
            tasks.append(asyncio.create_task(drift.run(), name=DRIFT))
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait(
            [waiter, *tasks], timeout=duration_s, return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()
        for task in done:
            if task is not waiter and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for closer in reversed(closers):  # the chain collector before the RPC client it uses
            await closer.close()
        await sink.stop()
    if ws is not None and chain is not None:
        summary["chain"] = chain_summary(chain, ws)
    if jupiter is not None:
        summary[JUPITER] = {"quotes": jupiter.produced, "polls": jupiter.polls, "errors": jupiter.errors}
    if drift is not None:
        summary[DRIFT] = {"books": drift.produced, "polls": drift.polls, "errors": drift.errors}
    summary["duration_s"] = round(time.monotonic() - started, 1)
    return summary


def chain_summary(chain: ChainCollector, ws: SolanaWsClient) -> dict[str, int]:
    """The chain collector's and its WebSocket's counts, as `solbot collect` prints them."""
    return {
        "swaps": chain.stats.swaps,
        "launches": chain.stats.launches,
        "failed_tx": chain.stats.failed_tx,
        "dead_letters": chain.stats.dead_letters,
        "unattributed": chain.stats.unattributed,
        "raydium_resolved": chain.stats.resolved,
        "raydium_resolve_failed": chain.stats.resolve_failed,
        "accounts_followed": chain.stats.accounts_followed,
        "pool_updates": chain.stats.account_updates,
        "notifications": ws.stats.notifications,
        "reconnects": ws.stats.reconnects,
        "stalls": ws.stats.stalls,
        "malformed": ws.stats.malformed,
    }
