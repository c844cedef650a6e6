-- 0001: the execution store. Never edit after release: add 0002_... instead (migrate() refuses edits).
-- Raw token amounts are u64 on chain: numeric(39,0) holds them (and sums of them) exactly.
-- Times named *_ms are integer milliseconds (event time or wall clock, as in streams/records.py).

CREATE TABLE orders (
    order_id        text PRIMARY KEY,
    signal_id       text NOT NULL,
    portfolio       text NOT NULL,
    pair            text NOT NULL,
    side            text NOT NULL CHECK (side IN ('buy', 'sell')),
    kind            text NOT NULL,
    venue           text NOT NULL,
    pool            text NOT NULL,
    amount_in       numeric(39,0) NOT NULL CHECK (amount_in >= 0),
    min_amount_out  numeric(39,0) NOT NULL CHECK (min_amount_out >= 0),
    status          text NOT NULL DEFAULT 'new'
                    CHECK (status IN ('new', 'submitted', 'filled', 'failed', 'expired', 'cancelled')),
    reason          text NOT NULL DEFAULT '',
    ts_ms           bigint NOT NULL,
    origin_ms       bigint NOT NULL,
    decided_ms      bigint NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_portfolio_ts ON orders (portfolio, ts_ms);

-- One row per order: the fill is the order's one terminal outcome, and doubles as the outbox of the
-- `fills` topic (published=false until the agent has sent it). `seq` orders the outbox oldest first.
CREATE TABLE executions (
    fill_id         text PRIMARY KEY,
    seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    order_id        text NOT NULL UNIQUE REFERENCES orders (order_id),
    portfolio       text NOT NULL,
    pair            text NOT NULL,
    side            text NOT NULL CHECK (side IN ('buy', 'sell')),
    status          text NOT NULL CHECK (status IN ('filled', 'failed')),
    reason          text NOT NULL DEFAULT '',
    venue           text NOT NULL,
    pool            text NOT NULL,
    base_amount     numeric(39,0) NOT NULL CHECK (base_amount >= 0),
    quote_amount    numeric(39,0) NOT NULL CHECK (quote_amount >= 0),
    fee_quote       numeric(39,0) NOT NULL CHECK (fee_quote >= 0),
    price           double precision NOT NULL,
    base_decimals   integer NOT NULL,
    quote_decimals  integer NOT NULL,
    signature       text UNIQUE,  -- NULL when nothing was sent (a failed fill)
    ts_ms           bigint NOT NULL,
    origin_ms       bigint NOT NULL,
    filled_ms       bigint NOT NULL,
    published       boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX executions_unpublished ON executions (portfolio, seq) WHERE NOT published;

CREATE TABLE balances (
    portfolio       text NOT NULL,
    mint            text NOT NULL,
    amount          numeric(39,0) NOT NULL CHECK (amount >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (portfolio, mint)
);

-- A position is kept (with base_amount 0) after it is closed, so its realised PnL stays on record.
-- realised_pnl_quote is in raw quote units; it is always integral, and double precision holds
-- integers exactly up to 2^53 raw units.
CREATE TABLE positions (
    portfolio           text NOT NULL,
    pair                text NOT NULL,
    base_mint           text NOT NULL,
    quote_mint          text NOT NULL,
    base_decimals       integer NOT NULL,
    quote_decimals      integer NOT NULL,
    base_amount         numeric(39,0) NOT NULL CHECK (base_amount >= 0),
    cost_quote          numeric(39,0) NOT NULL CHECK (cost_quote >= 0),
    realised_pnl_quote  double precision NOT NULL DEFAULT 0,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (portfolio, pair)
);

-- Where each sink consumer resumes: the offset of the next message it has not yet applied.
CREATE TABLE sink_offsets (
    consumer        text NOT NULL,
    topic           text NOT NULL,
    partition       integer NOT NULL,
    next_offset     bigint NOT NULL CHECK (next_offset >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
);

-- The risk agent's audit trail: one decision per signal (re-deliveries are ignored).
CREATE TABLE risk_decisions (
    decision_id     text PRIMARY KEY,
    signal_id       text NOT NULL UNIQUE,
    portfolio       text NOT NULL,
    pair            text NOT NULL,
    action          text NOT NULL CHECK (action IN ('approve', 'resize', 'reject')),
    order_id        text NULL,
    reason          text NOT NULL DEFAULT '',
    ts_ms           bigint NOT NULL,
    decided_ms      bigint NOT NULL
);
CREATE INDEX risk_decisions_portfolio_ts ON risk_decisions (portfolio, ts_ms);
