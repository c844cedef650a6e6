"""The live market: the chain collector (and Jupiter quotes) feeding the pipeline's raw topics, in place
of the simulated market's feed (`market.feed.run_feed`) when `MARKET_SOURCE=chain`.

What the pipeline reads is the same either way: `Swap`s on raw.swaps (the features agent), `Launch`es
on raw.launches (the launches agent), `PoolState`s of followed accounts on raw.pools and `JupiterQuote`s
on raw.quotes. One thing a live source must add: progress records. The features and model agents merge
partitions by event time and release an event once every partition has passed it; a simulated feed
knows its event time exactly, a chain does not (block times are estimates, Pump.fun's in whole
seconds, Raydium swaps wait for their pool's resolution). So every `PROGRESS_EVERY_S` this source
promises "nothing earlier than now - `progress_lag_ms`" on every raw.swaps partition; a swap that comes
later than that is late (the model agent's merge counts it), never lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chain.rpc import RpcClient
from collectors.chain_collector import ChainCollector
from collectors.feeds import JupiterCollector
from collectors.sink import KafkaSink
from collectors.solana_ws import SolanaWsClient
from core.config import endpoint
from core.settings import Settings
from market.tokens import SYMBOLS
from streams.broker_auth import NO_AUTH, BrokerAuth
from streams.progress import ProgressBeacon
from streams.topics import DLQ_RAW, RAW_LAUNCHES, RAW_POOLS, RAW_QUOTES, RAW_SWAPS
from venues.jupiter.data import JupiterClient
from venues.raydium.config import SYMBOLS as RAYDIUM_SYMBOLS
from venues.raydium.data import RaydiumPoolResolver

log = logging.getLogger(__name__)

OUTPUT_TOPICS = (RAW_SWAPS.name, RAW_LAUNCHES.name, RAW_POOLS.name, RAW_QUOTES.name, DLQ_RAW.name)
PROGRESS_EVERY_S = 0.2
END_TIMEOUT_S = 10.0  # how long a cancelled collection may take to stop and say where its stream ended
STOP_TIMEOUT_S = 5.0
DEFAULT_PROGRESS_LAG_MS = 2_000  # Pump.fun's clock is whole seconds; a Raydium resolution takes a round trip


@dataclass
class LiveMarket:
    """The collectors of one live run over one sink; `start`, then `stop` (flushes nothing itself)."""

    settings: Settings
    sink: Any  # collectors.sink.RecordSink
    ws: SolanaWsClient | None = None
    chain: ChainCollector | None = None
    jupiter: JupiterCollector | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    closers: list[Any] = field(default_factory=list)

    async def start(self) -> None:
        s = self.settings
        assert s.solana_ws_url is not None  # derived from the RPC URL by the settings
        self.ws = SolanaWsClient(s.solana_ws_url, stall_s=s.solana_ws_stall_s)
        resolver = None
        if s.collect_raydium_pools:
            rpc = RpcClient(s.solana_rpc_url)
            self.closers.append(rpc)
            resolver = RaydiumPoolResolver(rpc, symbols={**RAYDIUM_SYMBOLS, **SYMBOLS})
        self.chain = ChainCollector(self.sink, pool_lookup=resolver, new_curve_limit=s.collect_new_curves)
        self.closers.append(self.chain)
        self.chain.attach(self.ws, accounts=s.collect_accounts)
        self.tasks.append(asyncio.create_task(self.ws.run(), name="live-chain"))
        if s.collect_jupiter:
            client = JupiterClient(s.jupiter_api_url, api_key=s.jupiter_api_key)
            await client.start()
            self.closers.append(client)
            self.jupiter = JupiterCollector(client, self.sink, s.pairs, poll_s=s.jupiter_poll_s)
            self.tasks.append(asyncio.create_task(self.jupiter.run(), name="live-jupiter"))

    def events(self) -> int:
        """Records produced so far: swaps and launches (what the simulated feed counts as events)."""
        return 0 if self.chain is None else self.chain.stats.swaps + self.chain.stats.launches

    def failed(self) -> BaseException | None:
        """The error a collector task died of, if one did (they retry everything they can)."""
        for task in self.tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                return task.exception()
        return None

    async def stop(self) -> None:
        """Cancel the collectors and close their clients. A collector still closing its connection after
        `STOP_TIMEOUT_S` (a WebSocket close handshake behind unread notifications) is left to finish on
        its own: a stop must not hang the run."""
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            _done, pending = await asyncio.wait(self.tasks, timeout=STOP_TIMEOUT_S)
            for task in pending:
                log.warning(
                    "live market: %s still stopping after %.0f s; not waiting",
                    task.get_name(),
                    STOP_TIMEOUT_S,
                )
        for closer in reversed(self.closers):  # the chain collector before the RPC client it uses
            await closer.close()
        self.tasks.clear()
        self.closers.clear()


async def run_live_market(
    bootstrap_servers: str,
    settings: Settings,
    *,
    duration_s: float | None,
    on_progress: Callable[[int], None] | None = None,
    progress_lag_ms: int = DEFAULT_PROGRESS_LAG_MS,
    auth: BrokerAuth = NO_AUTH,
) -> int:
    """Collect the live market into the broker until `duration_s` passes (None: until cancelled), with
    progress records on raw.swaps; returns the swaps and launches produced. Called as `run_feed` is."""
    sink = KafkaSink(
        bootstrap_servers, linger_ms=settings.producer_linger_ms, topics=OUTPUT_TOPICS, auth=auth
    )
    await sink.start()
    market = LiveMarket(settings, sink)
    beacon = ProgressBeacon(sink.producer, RAW_SWAPS.name)
    started = time.monotonic()
    try:
        await beacon.start()
        await market.start()
        log.info("live market: chain %s", endpoint(settings.solana_ws_url or ""))
        while duration_s is None or time.monotonic() - started < duration_s:
            await asyncio.sleep(PROGRESS_EVERY_S)
            error = market.failed()
            if error is not None:
                raise error
            await asyncio.gather(*await beacon.advance(int(time.time() * 1000) - progress_lag_ms))
            if on_progress is not None:
                on_progress(market.events())
        if market.chain is not None:
            await market.chain.drain()  # the Raydium swaps still being resolved
        await _end_of_stream(market, beacon)
        return market.events()
    except asyncio.CancelledError:
        # Cancelled (a run without a duration ends so): still the end of this stream. Without the last
        # progress the merges downstream would hold the last swaps' snapshots and signals until a record
        # came that never comes (risk waits out a stall of every partition: streams.event_order).
        try:
            await asyncio.wait_for(_end_of_stream(market, beacon), END_TIMEOUT_S)
        except Exception as exc:  # the broker gone too: the merges wait for the next run's records
            log.warning("live market: end of stream not sent (%s)", type(exc).__name__)
        raise
    finally:
        await market.stop()
        await sink.stop()


async def _end_of_stream(market: LiveMarket, beacon: ProgressBeacon) -> None:
    """Stop collecting, then promise every raw.swaps partition that nothing earlier than now is coming
    (nothing is produced after the stop: the count and the last progress hold)."""
    await market.stop()
    await asyncio.gather(*await beacon.advance(int(time.time() * 1000), force=True))
