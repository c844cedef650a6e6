"""The wire contract: every record that crosses a topic, declared once.

Amounts on chain are integers in raw token units; prices are floats in human units (quote per base),
used only for features and decisions. Times are integer milliseconds: `ts_ms` is event time (block
time, or the simulator's clock) and drives every window and decision; `origin_ms` is the wall-clock
time the raw record that led to a decision was published, and is carried downstream only to measure
latency. Changing a field's meaning is a breaking change: add a new record version instead.
"""

from __future__ import annotations

import faust


class PoolState(faust.Record, serializer="json"):
    """A pool's state as of one event: what a venue needs to quote a swap against it."""

    venue: str  # "raydium" | "orca" | "pumpfun"
    pool: str  # pool (or bonding-curve) address
    base_mint: str
    quote_mint: str
    base_decimals: int
    quote_decimals: int
    base_reserve: int  # raw units, after the last trade (virtual reserves for a bonding curve)
    quote_reserve: int
    fee_bps: int
    real_base_reserve: int = 0  # bonding curves only: tokens still sellable by the curve
    ts_ms: int = 0
    # Set by the chain collector's account updates on raw.pools (defaults keep older producers valid).
    real_quote_reserve: int = 0  # bonding curves only: SOL the curve holds
    complete: bool = False  # bonding curves only: the curve sold out and migrated
    slot: int = 0
    received_ms: int = 0
    # Pump.fun: the creator's part of `fee_bps`; the program rounds it and the protocol part up separately.
    creator_fee_bps: int = 0


class Swap(faust.Record, serializer="json"):
    """A normalised swap on any venue: the one shape the simulator and every collector emit (raw.swaps)."""

    venue: str
    pool: str
    pair: str  # "BASE/QUOTE"
    base_mint: str
    quote_mint: str
    base_decimals: int
    quote_decimals: int
    side: str  # "buy" (taker bought base) | "sell"
    base_amount: int  # raw units moved
    quote_amount: int  # raw units moved, before fees
    base_reserve: int  # after the trade
    quote_reserve: int
    fee_bps: int
    slot: int
    ts_ms: int  # block time
    received_ms: int  # when the collector saw it
    signature: str
    real_base_reserve: int = 0
    creator_fee_bps: int = 0  # Pump.fun: the creator's part of `fee_bps` (0 = unknown: one round-up)


class Launch(faust.Record, serializer="json"):
    """A new Pump.fun coin (CreateEvent), on raw.launches."""

    mint: str
    bonding_curve: str
    name: str
    symbol: str
    creator: str
    virtual_base_reserve: int
    virtual_quote_reserve: int
    real_base_reserve: int
    total_supply: int
    slot: int
    ts_ms: int
    received_ms: int
    signature: str


class FeatureSnapshot(faust.Record, serializer="json"):
    """A pair's features at one event-time instant (topic `features`, key = pair)."""

    id: str  # f"{pair}@{ts_bucket_ms}": deterministic, one per pair per snapshot interval
    pair: str
    ts_ms: int
    origin_ms: int
    price: float
    features: dict[str, float]
    pools: list[PoolState]
    source_partition: int = -1
    source_offset: int = -1


class Progress(faust.Record, serializer="json"):
    """How far in event time a writer has written one partition: every later record it writes there has
    `ts_ms` at or above this one. Key `PROGRESS_KEY`. Sources put one on every `raw.swaps` partition every
    few tens of milliseconds of event time (`market.feed`), the features agent forwards them to the
    features partition of the same number, and the model agent's event-time merge advances on them while a
    partition has no snapshot to send (a quiet pair must not hold every signal back). The model agent puts
    one per features partition on `signals` in turn, and the risk agent's merge advances on those."""

    source_partition: int
    ts_ms: int
    # The source writes progress on this partition itself, so a silence there is a stall, not a quiet pair
    # (the model agent then waits longer before it stops waiting for the partition).
    steady: bool = False


PROGRESS_KEY = b"~progress"  # no pair is named so: the key tells progress records from snapshots


PRICE_MARK = 0  # a Signal's direction when it only carries a snapshot's price (no strategy acted on it)


class Signal(faust.Record, serializer="json"):
    """A model's view of where a pair goes next (topic `signals`, key = portfolio)."""

    id: str  # f"sig:{snapshot.id}"
    pair: str
    ts_ms: int
    origin_ms: int
    price: float
    direction: int  # +1 up, -1 down; 0: a price mark (`PRICE_MARK`), the price only, for risk's stops
    confidence: float  # probability that the direction is right
    expected_return: float  # log return over horizon_ms
    horizon_ms: int
    volatility: float  # per-second log-return volatility at decision time
    model: str
    strategy: str
    pools: list[PoolState]
    weight: float = 1.0  # the strategy's capital weight from the allocator; risk scales the size by it
    # The features partition whose snapshot made it (the model agent sets it): risk merges the signals of
    # every partition in event time on it (`agents.signal_merge`); -1: decided in log order.
    source_partition: int = -1


class Order(faust.Record, serializer="json"):
    """A risk-approved order (topic `orders`, key = portfolio)."""

    id: str  # deterministic: f"ord:{signal.id}" or f"exit:{pair}:{ts_ms}:{reason}" (a later part: ":{n}")
    signal_id: str
    pair: str
    side: str  # "buy" | "sell" (of base)
    amount_in: int  # raw units of the input mint (quote for a buy, base for a sell)
    min_amount_out: int  # raw units; the slippage bound
    venue: str
    pool: str
    pool_state: PoolState  # the state the decision priced against; the paper venue fills against it
    kind: str  # "entry" | "exit" | "stop_loss" | "breaker"
    reason: str
    ts_ms: int
    origin_ms: int
    decided_ms: int


class Rejection(faust.Record, serializer="json"):
    """A risk decision not to trade a signal (topic `orders.rejected`, key = portfolio)."""

    id: str  # f"rej:{signal_id}"
    signal_id: str
    pair: str
    reason: str
    ts_ms: int
    origin_ms: int
    decided_ms: int


class Fill(faust.Record, serializer="json"):
    """The one terminal outcome of an order (topic `fills`, key = portfolio)."""

    id: str  # f"fill:{order_id}"
    order_id: str
    pair: str
    side: str
    status: str  # "filled" | "failed"
    reason: str
    venue: str
    pool: str
    base_amount: int  # raw units bought or sold (0 if failed)
    quote_amount: int  # raw units paid or received, fee included
    fee_quote: int
    price: float  # average fill price, quote per base, human units
    base_decimals: int
    quote_decimals: int
    signature: str
    ts_ms: int
    origin_ms: int
    filled_ms: int
    # Lamports the transaction cost on top of the amounts (signature fee, priority fee, tip), paid in SOL
    # whether the swap filled or failed on chain; 0 where the venue does not report it.
    network_fee_lamports: int = 0


class DeadLetter(faust.Record, serializer="json"):
    """A message an agent could not use, with why and its original bytes (topics `dlq.*`)."""

    topic: str
    partition: int
    offset: int
    key_b64: str
    value_b64: str
    reason: str
    agent: str
    ts_ms: int


class JupiterQuote(faust.Record, serializer="json"):
    """One Jupiter quote for a tracked pair (topic `raw.quotes`, key = pair): what the aggregator would
    pay for `in_amount` of the input mint, for cross-venue spread features. Amounts are raw units."""

    pair: str
    input_mint: str
    output_mint: str
    in_amount: int
    out_amount: int  # after AMM and platform fees, before slippage
    other_amount_threshold: int  # the least (ExactIn) the route may deliver at `slippage_bps`
    swap_mode: str  # "ExactIn" | "ExactOut"
    slippage_bps: int
    price_impact_pct: float
    route: list[str]  # AMM labels, hop by hop
    context_slot: int  # 0 when the API did not say
    usd_price_in: float  # Price v3 usdPrice of the input mint at the last poll; 0.0 when unknown
    usd_price_out: float
    ts_ms: int  # when the quote was answered (wall clock; a quote has no block time)
    received_ms: int


class PerpBook(faust.Record, serializer="json"):
    """A Drift perp market's order book and funding at one poll (topic `raw.perps`, key = the spot pair
    it prices, `SOL-PERP` -> `SOL/USDC`: the features agent reads it with that pair's swaps).
    Prices are integers in PRICE precision (1e6), sizes in BASE precision (1e9), as the DLOB sends them."""

    market: str
    market_index: int
    slot: int
    best_bid: int  # 0 when the side is empty
    best_ask: int
    oracle_price: int  # 0 when the server sent no oracle data
    spread_bps: float  # (ask - bid) / mid * 1e4; 0.0 when a side is empty
    depth_bps: int  # the band `bid_depth` / `ask_depth` are summed within, around the mid
    bid_depth: int  # BASE precision
    ask_depth: int
    imbalance: float  # (bid_depth - ask_depth) / (bid_depth + ask_depth), in [-1, 1]
    bids: list[list[int]]  # [[price, size], ...] best first
    asks: list[list[int]]
    funding_rate_hourly: float  # fraction per hour from the latest funding record; 0.0 when unknown
    funding_ts_ms: int  # 0 when unknown
    ts_ms: int  # when the book was answered (wall clock)
    received_ms: int


class MintInfo(faust.Record, serializer="json"):
    """A mint's authorities (topic `raw.mints`, key = mint): a mint that can still be minted or frozen is
    refused by risk."""

    mint: str
    decimals: int
    mint_authority: str | None
    freeze_authority: str | None
    ts_ms: int


class Control(faust.Record, serializer="json"):
    """An operator's kill switch (topic `control`, key = portfolio): halt or resume new risk, or rebalance
    the portfolio toward target allocations."""

    id: str
    action: str  # "halt" | "resume" | "rebalance"
    reason: str
    flatten: bool
    ts_ms: int  # wall clock of the operator's command
    # action "rebalance": pair -> target fraction of equity. None, not {}: a Faust default is shared.
    targets: dict[str, float] | None = None


class Allocation(faust.Record, serializer="json"):
    """Capital weights across strategies for the next optimisation cycle (topic `allocations`)."""

    id: str  # f"alloc:{portfolio}:{pair}:{ts_ms}": deterministic, one per pair per cycle
    portfolio: str
    ts_ms: int  # event time the cycle closed and these weights start
    cycle_ms: int
    weights: dict[str, float]  # strategy -> share of capital; sums to at most 1
    rewards: dict[str, float]  # strategy -> risk-adjusted reward of the cycle just closed
    trades: dict[str, int]  # strategy -> returns attributed in that cycle
    policy: str  # e.g. "linear-thompson"
    pair: str = ""  # whose capital the weights split (the model agent keeps one bandit per pair)


class ManualRequest(faust.Record, serializer="json"):
    """An operator's request from the dashboard (topic `control.manual`, key = portfolio).

    `close` asks the risk agent to exit the portfolio's position in `pair` with an exit order; `cancel`
    asks it to cancel `order_id` if that order is still open. The risk agent stays the single writer of
    orders: the web API only publishes the request.
    """

    id: str  # f"manual:{uuid4 hex}"
    action: str  # "close" | "cancel"
    portfolio: str
    pair: str  # "" for a cancel
    order_id: str  # "" for a close
    wallet: str  # who asked (base58)
    ts_ms: int


class StrategyParams(faust.Record, serializer="json"):
    """A strategy's operator-set parameters (topic `strategy.params`, key = strategy name).

    The latest record per key wins; the web API also keeps them in Postgres (`strategy_params`).
    """

    name: str
    enabled: bool
    max_position_pct: float
    stop_loss_pct: float
    take_profit_pct: float
    grid_levels: int
    pairs: list[str]
    updated_by: str
    updated_ms: int
