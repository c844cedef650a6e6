-- 0002: market data (swaps and pool snapshots), partitioned by time so that old data is dropped a
-- whole day at a time instead of deleted row by row. Never edit after release: add 0003_... instead.
--
-- One migration for two kinds of server, decided inside the database:
--   * TimescaleDB available (and preloaded, which CREATE EXTENSION needs): a hypertable with one-day
--     chunks and a 90-day retention policy run by Timescale's own job scheduler.
--   * otherwise (the embedded PostgreSQL): native PARTITION BY RANGE (ts) with one partition per UTC
--     day, created ahead and dropped by store/retention.py, plus a DEFAULT partition that catches rows
--     no daily partition covers, so an insert never fails for want of a partition.
-- Both have the same columns and key; store/retention.py tells them apart from pg_extension.
--
-- signature: a swap's transaction signature; for a snapshot, its deterministic id, so that a replay
-- conflicts with the first write. ix: the swap's position within its transaction (a transaction may
-- swap in one pool more than once). The key starts with ts because a partitioned table's unique keys
-- must contain the partition column.

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
       OR (EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
           AND current_setting('shared_preload_libraries') LIKE '%timescaledb%') THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
        CREATE TABLE market_data (
            ts            timestamptz NOT NULL,
            pair          text NOT NULL,
            venue         text NOT NULL,
            pool          text NOT NULL,
            kind          text NOT NULL DEFAULT 'swap' CHECK (kind IN ('swap', 'snapshot')),
            price         double precision NOT NULL,
            base_amount   numeric(39,0) CHECK (base_amount >= 0),   -- raw units; NULL for a snapshot
            quote_amount  numeric(39,0) CHECK (quote_amount >= 0),
            side          text CHECK (side IN ('buy', 'sell')),     -- NULL for a snapshot
            slot          bigint,
            signature     text NOT NULL,
            ix            integer NOT NULL DEFAULT 0,
            PRIMARY KEY (ts, pool, signature, ix)
        );
        PERFORM create_hypertable('market_data', 'ts', chunk_time_interval => INTERVAL '1 day');
        PERFORM add_retention_policy('market_data', INTERVAL '90 days');
    ELSE
        CREATE TABLE market_data (
            ts            timestamptz NOT NULL,
            pair          text NOT NULL,
            venue         text NOT NULL,
            pool          text NOT NULL,
            kind          text NOT NULL DEFAULT 'swap' CHECK (kind IN ('swap', 'snapshot')),
            price         double precision NOT NULL,
            base_amount   numeric(39,0) CHECK (base_amount >= 0),
            quote_amount  numeric(39,0) CHECK (quote_amount >= 0),
            side          text CHECK (side IN ('buy', 'sell')),
            slot          bigint,
            signature     text NOT NULL,
            ix            integer NOT NULL DEFAULT 0,
            PRIMARY KEY (ts, pool, signature, ix)
        ) PARTITION BY RANGE (ts);
        CREATE TABLE market_data_default PARTITION OF market_data DEFAULT;
    END IF;
END
$$;

-- The common query: one pair over a time range (on every partition or chunk).
CREATE INDEX market_data_pair_ts ON market_data (pair, ts);
