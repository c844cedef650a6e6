"""Reason codes and halt kinds: the words the audit table, the dashboard and the tests read.

A decision's reason is `"<code>: <detail>"`; the code (before the first colon) is machine-readable and is
one of `ORDER_CODES` or `REJECT_CODES` (`risk.checks` derives the latter from the registered checks).
"""

from __future__ import annotations

# Codes of approved orders.
ENTRY = "entry"  # a buy at the full per-position size
RESIZED = "resized"  # a buy shrunk by a cap or the balance; the detail names which
CLOSE = "close"  # a -1 signal selling the whole position
STOP_LOSS = "stop_loss"  # an exit because the price fell stop_loss_pct below entry
TAKE_PROFIT = "take_profit"  # an exit because the price rose take_profit_pct above entry
TRAILING_STOP = "trailing_stop"  # an exit because the price fell trailing_stop_pct below its high since entry
TIME_STOP = "time_stop"  # an exit because the position was held max_hold_s of event time
FLATTEN = "flatten"  # an exit of every position because a halt asked for it
MANUAL_CLOSE = "manual"  # an exit an operator asked for (dashboard / API `close`); also the order kind
REBALANCE = "rebalance"  # a slice moving a position toward its target allocation; also the order kind
REBALANCE_CAPPED = "rebalance_capped"  # a rebalance buy whose target was above max_position_pct
ORDER_CODES = (
    ENTRY,
    RESIZED,
    CLOSE,
    STOP_LOSS,
    TAKE_PROFIT,
    TRAILING_STOP,
    TIME_STOP,
    FLATTEN,
    MANUAL_CLOSE,
    REBALANCE,
    REBALANCE_CAPPED,
)
EXIT_KINDS = (STOP_LOSS, TRAILING_STOP, TAKE_PROFIT, TIME_STOP)
STOP_KINDS = (STOP_LOSS, TRAILING_STOP)  # the exits after which a strategy waits stop_cooldown_s to re-enter
BREAKER = "breaker"  # the order kind of a flatten exit

# Codes of rejections.
BAD_SIGNAL = "bad_signal"  # direction not +-1, or a non-positive / non-finite price
DUPLICATE = "duplicate"  # an order for this signal id is still pending
LOW_CONFIDENCE = "low_confidence"
NO_POOL = "no_pool"  # no pool for the pair, or none that returns anything for the size
UNSUPPORTED_QUOTE = "unsupported_quote"  # the quote mint is neither USDC nor SOL
EXIT_PENDING = "exit_pending"  # a sell is in flight for the pair; wait for its fill
HALTED = "halted"  # buys are refused while the portfolio is halted (drawdown breaker or manual)
NO_POSITION = "no_position"  # -1 on a pair the portfolio does not hold
POSITION_CAP = "below_min_size"  # the per-position size itself is below the minimum order
PAIR_CAP_FULL = "pair_cap_full"
TOTAL_CAP_FULL = "total_cap_full"
INSUFFICIENT_BALANCE = "insufficient_balance"
SLIPPAGE = "slippage"  # expected price impact above max_slippage_bps
NO_EDGE = "no_edge"  # the Kelly bet is not positive (expected return against the direction, or zero)
MAX_POSITIONS = "max_positions"  # max_concurrent_positions pairs are already held or being bought
RATE_LIMITED = "rate_limited"  # max_orders_per_minute orders in the last 60 s of event time
LOW_LIQUIDITY = "low_liquidity"  # every pool of the pair is below min_pool_liquidity_usdc
LAUNCH_CAP_FULL = "launch_cap_full"  # max_launch_notional_usdc already bought of this launch
DENIED_MINT = "denied_mint"  # the base mint is on the deny list
MINT_AUTHORITY = "mint_authority"  # the base mint can still be minted or frozen
STALE_PRICE = "stale_price"  # the pair's price is older than stale_price_s behind the newest event
VENUE_HALTED = "venue_halted"  # the venue's recent fills fail too often
STRATEGY_DISABLED = "strategy_disabled"  # the signal's strategy is switched off (strategy.params)
PAIR_HALTED = "pair_halted"  # the pair's price moved more than pair_move_halt_pct within pair_move_window_s
STOP_COOLDOWN = (
    "stop_cooldown"  # the strategy's position in the pair was stopped out under stop_cooldown_s ago
)
OUTLIER_PRICE = (
    "outlier_price"  # the signal's price is held back as an outlier until a next price confirms it
)
# Rejections that come from no pre-trade check: the screening of every signal (both directions), the
# sell path, and the pricing of a buy's route. The checks' own codes are added in `risk.checks`.
SCREENING_CODES = (
    BAD_SIGNAL,
    DUPLICATE,
    LOW_CONFIDENCE,
    NO_POOL,
    EXIT_PENDING,
    NO_POSITION,
    SLIPPAGE,
    OUTLIER_PRICE,
)
# Order kinds a position's lots are attributed to when no strategy opened them (risk.attribution).
MANUAL_KIND = "manual"

# Fill reasons that are the operator's doing, not the venue's: they never count towards a venue halt.
OPERATOR_FILL_REASONS = ("halted", "cancelled")
# Fill reasons that are the market's doing: the price moved past the order's floor (or the pool emptied)
# between decision and landing. The venue did its job, so they never count towards a venue halt either;
# they are counted apart (`solbot_market_fill_failures_total`).
MARKET_FILL_REASONS = ("slippage",)
# Fill reasons that are the bot's own refusals before anything was sent: live trading's notional caps
# (venues/live_caps.py) and a dry run's verdict (agents/live_execution.py DRY_RUN). The venue was never
# asked, so they never count towards a venue halt (a day cap reached, or every order of a dry run, halted
# the venue: `solbot run --live` on the sandbox decided `venue_halted` 402 times after four cap refusals).
OWN_FILL_REASONS = ("live_cap_order", "live_cap_day", "live_unpriced", "dry_run")
NOT_THE_VENUES = OPERATOR_FILL_REASONS + MARKET_FILL_REASONS + OWN_FILL_REASONS

# Halt kinds (keys of RiskState.halts).
MANUAL_HALT = "manual"  # an operator's halt, cleared by a resume control
DRAWDOWN = "drawdown"
DAILY_DRAWDOWN = "daily_drawdown"
STALE = "stale"


def reason_code(reason: str) -> str:
    """The machine-readable code of a reason string (the part before the first colon)."""
    return reason.partition(":")[0]
