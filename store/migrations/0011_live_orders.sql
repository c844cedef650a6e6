-- 0009: live orders (`solbot run --live`). Never edit after release: add 0010_... instead.
-- Each live order as the execution agent received it (to re-drive it after a restart, before anything new
-- is sent) and the notional it was counted at against the per-day cap (UTC day).
CREATE TABLE live_orders (
    order_id       text PRIMARY KEY REFERENCES orders (order_id),
    portfolio      text NOT NULL,
    payload        bytea NOT NULL,
    notional_usdc  double precision NOT NULL CHECK (notional_usdc >= 0),
    day            date NOT NULL,
    dry_run        boolean NOT NULL,
    created_ms     bigint NOT NULL
);
CREATE INDEX live_orders_day ON live_orders (portfolio, day);
