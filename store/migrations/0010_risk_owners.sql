-- The owner epoch of each portfolio's risk state (issue 16, fencing). A worker assigned the risk inputs
-- claims the next epoch; the audit refuses decisions of an older one, and the execution sink refuses an
-- older epoch's orders decided after the current owner took over (claimed_ms, the claimer's wall clock).
CREATE TABLE IF NOT EXISTS risk_owners (
    portfolio    text PRIMARY KEY,
    epoch        bigint NOT NULL CHECK (epoch > 0),
    owner        text NOT NULL,
    claimed_ms   bigint NOT NULL
);
