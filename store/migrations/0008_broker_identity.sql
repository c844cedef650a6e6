-- The broker this database's broker-bound state was written against: the execution sink's offsets
-- (sink_offsets), the model checkpoints (offsets of `features`) and the fills outbox. Its cluster id and
-- the epoch solbot writes once into the broker's `broker.epoch` topic; one row. A run against another
-- broker (or one that lost its data) is refused until `solbot reset` clears that state.
CREATE TABLE IF NOT EXISTS broker_identity (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    cluster_id   text NOT NULL,
    epoch        text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
