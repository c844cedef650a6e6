-- Online models survive restarts: one pickled DelayedLabeler per model key, with the River version that
-- pickled it (a pickle from another River version is refused, never half-loaded).
CREATE TABLE IF NOT EXISTS model_checkpoints (
    model_key      text PRIMARY KEY,
    river_version  text NOT NULL,
    created_ts_ms  bigint NOT NULL,
    payload        bytea NOT NULL
);
