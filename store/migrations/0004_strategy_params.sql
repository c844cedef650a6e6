-- 0004: operator-set strategy parameters, edited on the dashboard (`PUT /api/v1/strategy`).
-- Numbered 0004 so a parallel 0003 can land first; the lead renumbers if needed. Never edit after release.
-- One row per strategy; the web API also publishes every change to the `strategy.params` topic.

CREATE TABLE IF NOT EXISTS strategy_params (
    name              text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,39}$'),
    enabled           boolean NOT NULL,
    max_position_pct  double precision NOT NULL CHECK (max_position_pct > 0 AND max_position_pct <= 100),
    stop_loss_pct     double precision NOT NULL CHECK (stop_loss_pct > 0 AND stop_loss_pct <= 100),
    take_profit_pct   double precision NOT NULL CHECK (take_profit_pct > 0 AND take_profit_pct <= 1000),
    grid_levels       integer NOT NULL CHECK (grid_levels >= 0 AND grid_levels <= 100),
    pairs             text[] NOT NULL,
    updated_by        text NOT NULL,
    updated_ms        bigint NOT NULL
);
