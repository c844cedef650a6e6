"""What a backtest run yields: the ledger it booked, each trade with its attribution, and the run's result.

Kept apart from the engine so the report reads results without importing the engine that makes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from market.fills import FILLED, mint_flows
from market.tokens import USDC, WSOL
from risk.state import RiskState
from store.execution import _Position as LedgerPosition  # the sink's booking rules, reused as they are
from streams.records import Allocation, Fill, Order, PoolState

DEAD_LINE = "__dead_line__"  # the topic `read_records` gives a line that is not a record (backtest.recording)


@dataclass(slots=True)
class Ledger:
    """The paper wallet and positions as the execution sink books them, marked to snapshot prices."""

    balances: dict[str, int]
    fallback_sol_usdc: float
    positions: dict[str, LedgerPosition] = field(default_factory=dict)
    prices: dict[str, float] = field(default_factory=dict)  # pair -> last snapshot price
    pair_mints: dict[str, tuple[str, str, int, int]] = field(default_factory=dict)  # base, quote, decimals
    base_pair: dict[str, str] = field(default_factory=dict)  # base mint -> the pair that prices it

    def learn(self, pair: str, price: float, pools: list[PoolState]) -> None:
        if pair not in self.pair_mints and pools:
            p = pools[0]
            self.pair_mints[pair] = (p.base_mint, p.quote_mint, p.base_decimals, p.quote_decimals)
            self.base_pair.setdefault(p.base_mint, pair)
        if price > 0.0:
            self.prices[pair] = price

    def usdc_per_human(self, mint: str, depth: int = 0) -> float:
        """USDC per whole token of `mint` at the last prices (SOL at a fallback until SOL/USDC trades)."""
        if mint == USDC:
            return 1.0
        pair = self.base_pair.get(mint)
        price = self.prices.get(pair) if pair is not None else None
        if pair is None or price is None or depth > 2:
            return self.fallback_sol_usdc if mint == WSOL else 0.0
        quote = self.pair_mints[pair][1]
        return price * self.usdc_per_human(quote, depth + 1)

    def usdc_per_raw(self, mint: str, decimals: int) -> float:
        return self.usdc_per_human(mint) / 10.0**decimals

    def equity_usdc(self) -> float:
        return self.value_usdc(self.balances)

    def value_usdc(self, balances: dict[str, int]) -> float:
        """`balances` marked to the last prices: the wallet's equity, or the opening wallet held unchanged
        (the buy-and-hold benchmark)."""
        total = 0.0
        for mint, amount in balances.items():
            if amount:
                total += amount * self.usdc_per_raw(mint, wallet_decimals(self, mint))
        return total

    def book(self, order: Order, fill: Fill) -> None:
        for mint, delta in mint_flows(order, fill).items():
            self.balances[mint] = self.balances.get(mint, 0) + delta
        if fill.network_fee_lamports:  # the transaction's cost, in SOL, filled or not
            self.balances[WSOL] = self.balances.get(WSOL, 0) - fill.network_fee_lamports
        if fill.status == FILLED:
            s = order.pool_state
            position = self.positions.setdefault(
                order.pair,
                LedgerPosition(s.base_mint, s.quote_mint, s.base_decimals, s.quote_decimals, 0, 0, 0),
            )
            position.book(fill)


def wallet_decimals(ledger: Ledger, mint: str) -> int:
    """Decimals of a mint the wallet holds (USDC, SOL, or the base of a pair it has seen)."""
    if mint == USDC:
        return 6
    if mint == WSOL:
        return 9
    pair = ledger.base_pair.get(mint)
    return ledger.pair_mints[pair][2] if pair is not None else 0


@dataclass(slots=True)
class TradeRecord:
    """One order with its outcome and what it is attributed to."""

    order: Order
    fill: Fill
    strategy: str
    notional_usdc: float
    fee_usdc: float
    realised_usdc: float  # PnL this fill booked (sells), in USDC at the fill's time
    fill_state: PoolState | None = None  # the pool state it filled on (None: the one it was priced on)
    network_fee_usdc: float = 0.0  # signature + priority fee + tip, at the fill's SOL price
    sandwich_usdc: float = 0.0  # output a sandwich took, at the fill's prices


@dataclass(slots=True)
class BacktestResult:
    """Everything a report needs; `orders` in decision order."""

    seed: int
    events: int
    dead_letters: int
    launches: int
    snapshots: int
    signals: int
    rejections: int
    elapsed_s: float
    start_equity_usdc: float
    trades: list[TradeRecord]
    equity: list[tuple[int, float]]  # (event time ms, equity USDC), one point per snapshot interval
    ledger: Ledger
    risk_state: RiskState
    models: dict[str, dict[str, float]]
    rejection_codes: dict[str, int]
    allocations: list[Allocation] = field(default_factory=list)  # the bandit's, one per closed cycle
    # The opening wallet held unchanged, marked at the same times and prices as `equity`: the benchmark
    # that separates what trading did from what the market did to the inventory.
    benchmark: list[tuple[int, float]] = field(default_factory=list)
    dead_letter_lines: list[tuple[int, str]] = field(default_factory=list)  # the first few: (line, reason)
    opening_wallet: dict[str, int] = field(default_factory=dict)  # raw units, for the hold benchmark
    fill_model: dict[str, Any] = field(default_factory=dict)  # `FillModel.describe()`

    @property
    def orders(self) -> list[Order]:
        return [t.order for t in self.trades]
