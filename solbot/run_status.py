"""What `solbot run` tells its operator while it runs and when it stops: equity once it can be priced,
the PnL split into the opening wallet's re-pricing and trading, and warnings when latency or lag pass
their thresholds (with hysteresis: one line when a figure passes its threshold, one when it is back
under half of it, nothing in between)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import numpy as np

from market.tokens import USDC, WSOL, initial_wallet
from store import latest_prices
from store.portfolio import read_balances, read_positions

RELEASE = 0.5  # a warning clears when its figure is back under this fraction of the threshold


@dataclass(frozen=True)
class Wallet:
    """Raw balances by mint, and for each traded base mint its pair and decimals (to price it)."""

    balances: dict[str, int]
    meta: dict[str, tuple[str, int]] = field(default_factory=dict)


async def read_wallet(database_url: str, portfolio: str) -> Wallet:
    conn = await asyncpg.connect(database_url)
    try:
        balances = {b.mint: b.amount for b in await read_balances(conn, portfolio)}
        meta = {p.base_mint: (p.pair, p.base_decimals) for p in await read_positions(conn, portfolio)}
    finally:
        await conn.close()
    return Wallet(balances, meta)


async def opening_wallet(database_url: str, portfolio: str, start_usdc: float, start_sol: float) -> Wallet:
    """The wallet this run starts from: the stored one, or the paper wallet's opening balances when the
    execution sink has not seeded it yet (a first run)."""
    wallet = await read_wallet(database_url, portfolio)
    if any(wallet.balances.values()):
        return wallet
    return Wallet(initial_wallet(start_usdc, start_sol))


def value_usdc(wallet: Wallet, prices: dict[str, float], known: dict[str, tuple[str, int]]) -> float | None:
    """The wallet marked to `prices` in USDC; None while a held token has no price yet (unpriced).

    `known` adds pairs learnt elsewhere (the current wallet's positions) for base mints the wallet holds.
    """
    meta = {**known, **wallet.meta}
    sol_usdc = prices.get("SOL/USDC")
    total = 0.0
    for mint, amount in wallet.balances.items():
        if amount == 0:
            continue
        if mint == USDC:
            total += amount / 1e6
        elif mint == WSOL:
            if sol_usdc is None:
                return None
            total += amount / 1e9 * sol_usdc
        elif mint in meta:
            pair, decimals = meta[mint]
            price = prices.get(pair)
            quote_usdc = sol_usdc if pair.endswith("/SOL") else 1.0
            if price is None or quote_usdc is None:
                return None
            total += amount / 10**decimals * price * quote_usdc
        else:
            return None
    return total


def equity_text(equity: float | None) -> str:
    return "equity=unpriced" if equity is None else f"equity={equity:,.2f} USDC"


@dataclass
class Threshold:
    """A figure's warning state: warns once when it passes `limit`, clears once under `limit * RELEASE`."""

    name: str
    limit: float
    unit: str
    setting: str
    raised: bool = False

    def update(self, value: float | None) -> str | None:
        """The line to print now, if the state changed."""
        if value is None:
            return None
        if not self.raised and value > self.limit:
            self.raised = True
            return (
                f"solbot: WARNING {self.name} {value:,.0f}{self.unit} is over {self.limit:,.0f}{self.unit} "
                f"({self.setting}): the pipeline is falling behind the market"
            )
        if self.raised and value < self.limit * RELEASE:
            self.raised = False
            return f"solbot: {self.name} back to {value:,.0f}{self.unit} (under {self.limit * RELEASE:,.0f})"
        return None


@dataclass
class RunStatus:
    """The run's opening wallet, its first priced value, the last equity and lag, and the warnings."""

    opening: Wallet
    latency: Threshold
    lag: Threshold
    start_value: float | None = None
    equity: float | None = None
    lag_now: int | None = None
    last: tuple[Wallet, dict[str, float]] | None = None  # the wallet and prices last priced
    marked_s: float | None = None  # monotonic time of that
    _latency_seen: int = 0

    @classmethod
    def create(cls, opening: Wallet, settings: Any) -> RunStatus:
        return cls(
            opening,
            latency=Threshold(
                "tick-to-order latency p99", settings.run_warn_latency_ms, " ms", "RUN_WARN_LATENCY_MS"
            ),
            lag=Threshold("consumer lag", settings.run_warn_lag, " records", "RUN_WARN_LAG"),
        )

    def mark(self, wallet: Wallet, prices: dict[str, float]) -> float | None:
        """Price the current wallet (None: unpriced); the opening wallet's value is taken at the first
        moment both can be priced, so the split compares like with like."""
        # An empty wallet is one the execution sink has not seeded yet (a first run's first seconds).
        self.equity = value_usdc(wallet, prices, {}) if any(wallet.balances.values()) else None
        if self.start_value is None and self.equity is not None:
            self.start_value = value_usdc(self.opening, prices, wallet.meta)
        self.last = (wallet, dict(prices))
        self.marked_s = time.monotonic()
        return self.equity

    def warnings(self, latencies_ms: list[float], lag: int | None) -> list[str]:
        """Lines for thresholds crossed since the last call: p99 of the latencies seen since then."""
        recent = latencies_ms[self._latency_seen :]
        self._latency_seen = len(latencies_ms)
        p99 = float(np.percentile(np.asarray(recent), 99)) if recent else None
        self.lag_now = lag
        return [line for line in (self.latency.update(p99), self.lag.update(lag)) if line is not None]

    def pnl(self) -> dict[str, float | None]:
        """Total PnL since the first priced moment, split into the opening wallet re-priced (held
        unchanged) and trading (the rest); None while unpriced."""
        last = self.last
        if self.start_value is None or self.equity is None or last is None:
            return {"start_equity_usdc": None, "pnl_usdc": None, "inventory_revaluation_usdc": None,
                    "trading_pnl_usdc": None}  # fmt: skip
        wallet, prices = last
        held = value_usdc(self.opening, prices, wallet.meta)
        revaluation = None if held is None else held - self.start_value
        return {
            "start_equity_usdc": round(self.start_value, 2),
            "pnl_usdc": round(self.equity - self.start_value, 2),
            "inventory_revaluation_usdc": None if revaluation is None else round(revaluation, 2),
            "trading_pnl_usdc": None if held is None else round(self.equity - held, 2),
        }


async def current(database_url: str, redis_url: str, portfolio: str) -> tuple[Wallet, dict[str, float]]:
    """The stored wallet and the latest prices."""
    prices = await latest_prices.read(redis_url)
    return await read_wallet(database_url, portfolio), prices


async def workers_lag(ports: list[int], timeout_s: float = 2.0) -> int | None:
    """The sum of every worker's consumer lag (`/status/` `lag_total`); None if none answered."""
    total, answered = 0, False
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for port in ports:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError, KeyError):
                async with session.get(f"http://127.0.0.1:{port}/status/") as resp:
                    body = await resp.json(content_type=None)
                    total += int(body["lag_total"])
                    answered = True
    return total if answered else None


def summary_text(summary: dict[str, Any]) -> str:
    """The final summary for a person: a few aligned lines (the JSON line follows for scripts)."""
    lat = summary["latency_ms"]

    def usdc(v: float | None) -> str:
        return "unpriced" if v is None else f"{v:+,.2f} USDC"

    equity = summary["equity_usdc"]
    by_reason: dict[str, int] = summary.get("rejected_by_reason") or {}
    return "\n".join(
        [
            f"solbot: stopped ({summary['stopped_by']}) after {summary['duration_s']:.0f} s",
            f"  orders {summary['orders']}, fills {summary['fills']} ({summary['failed_fills']} failed), "
            f"rejected {summary['rejected']}{reasons_text(by_reason)}, "
            f"dead letters {summary['dead_letters']}",
            f"  {equity_text(equity).replace('=', ' ')}; PnL {usdc(summary['pnl_usdc'])}"
            f" = opening wallet re-priced {usdc(summary['inventory_revaluation_usdc'])}"
            f" + trading {usdc(summary['trading_pnl_usdc'])}",
            f"  latency p50 {lat['p50']:.0f} ms, p99 {lat['p99']:.0f} ms; consumer lag "
            f"{'unknown' if summary['lag'] is None else summary['lag']}",
            *cap_hint(by_reason, summary["rejected"]),
            *halt_hint(by_reason, summary["rejected"]),
        ]
    )


def reasons_text(by_reason: dict[str, int], shown: int = 3) -> str:
    """The commonest rejection reasons, so a run that decided nothing says why without opening a log."""
    if not by_reason:
        return ""
    top = sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{code} {n}" for code, n in top[:shown])
    return f" ({text}{f', +{len(top) - shown} more' if len(top) > shown else ''})"


def cap_hint(by_reason: dict[str, int], rejected: int) -> list[str]:
    """One line when most refusals were a full total exposure cap: with the default OPENING_INVENTORY
    (counted) a wallet that is mostly SOL fills the cap before any strategy buys."""
    if rejected <= 0 or by_reason.get("total_cap_full", 0) * 2 < rejected:
        return []
    return [
        "  most signals were refused total_cap_full: the positions and the wallet's own tokens "
        '(OPENING_INVENTORY=counted) fill MAX_TOTAL_EXPOSURE_PCT; see docs/risk.md, "Caps on positions"'
    ]


def halt_hint(by_reason: dict[str, int], rejected: int) -> list[str]:
    """One line when most refusals were a halt: a halt outlives the run that tripped it (it is risk state),
    so the next run refuses every buy from its first signal unless the operator knows why."""
    if rejected <= 0 or by_reason.get("halted", 0) * 2 < rejected:
        return []
    return [
        "  most signals were refused halted: a breaker (e.g. the daily drawdown, cleared the next UTC day) "
        'or `solbot halt` (lifted by `solbot resume`) holds across runs; see docs/risk.md, "Breakers"'
    ]


async def settle(coro: Any, timeout_s: float) -> Any:
    """`coro`'s result, or None if it did not finish in time or failed (the summary must still print)."""
    with contextlib.suppress(Exception):
        return await asyncio.wait_for(coro, timeout_s)
    return None
