-- 0007: an order cancelled before it executed gets the terminal outcome 'cancelled' (executions.status).
-- Never edit after release: add 0008_... instead.
ALTER TABLE executions DROP CONSTRAINT IF EXISTS executions_status_check;
ALTER TABLE executions ADD CONSTRAINT executions_status_check
    CHECK (status IN ('filled', 'failed', 'cancelled'));
