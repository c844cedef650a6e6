-- Who may do what on the web API, and who did what. Authority lives here, not in Redis or in tokens: a
-- request's role is read from `wallet_roles` each time, so a grant or revocation applies at once, and
-- nothing written into Redis can make a wallet an owner.

CREATE TABLE IF NOT EXISTS wallet_roles (
    wallet      text PRIMARY KEY,                       -- base58 public key
    role        text NOT NULL CHECK (role IN ('owner', 'trader', 'viewer')),
    granted_by  text NOT NULL,                          -- a wallet, or `cli:<user>` for the CLI
    granted_at  timestamptz NOT NULL DEFAULT now()
);

-- Every state-changing action of the API and the CLI, with its actor. Append-only: the trigger below
-- refuses UPDATE, DELETE and TRUNCATE for every role, the table owner included (a superuser could drop
-- the trigger, which is itself a visible schema change).
CREATE TABLE IF NOT EXISTS audit_log (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text NOT NULL,                             -- a wallet, or `cli:<user>`
    source   text NOT NULL CHECK (source IN ('api', 'cli')),
    action   text NOT NULL,                             -- e.g. halt, resume, order.close, role.grant
    target   text NOT NULL DEFAULT '',                  -- what it acted on (a pair, an order, a wallet)
    detail   jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at DESC);

CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
