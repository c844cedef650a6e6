-- 0003: the order life cycle of live venues. Never edit after release: add 0004_... instead.
-- orders.status gains 'confirmed' (a live order whose transaction landed without error).
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('new', 'submitted', 'confirmed', 'filled', 'failed', 'expired', 'cancelled'));

-- Every status change of an order, with why and when (ms, wall clock of the deciding worker).
CREATE TABLE order_transitions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id     text NOT NULL REFERENCES orders (order_id),
    from_status  text,
    to_status    text NOT NULL,
    reason       text NOT NULL,
    ts_ms        bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_transitions_order ON order_transitions (order_id, id);

-- Each signed transaction of an order, stored BEFORE it is sent. At most one is live (signed or sent)
-- per order at a time: a new one may only be signed once the live one is proven expired.
CREATE TABLE order_txs (
    order_id                 text NOT NULL REFERENCES orders (order_id),
    attempt                  integer NOT NULL CHECK (attempt >= 1),
    signature                text NOT NULL UNIQUE,
    last_valid_block_height  bigint NOT NULL,
    raw_tx_base64            text NOT NULL,
    in_amount                numeric(39,0) NOT NULL CHECK (in_amount >= 0),
    out_amount               numeric(39,0) NOT NULL CHECK (out_amount >= 0),
    state                    text NOT NULL CHECK (state IN ('signed', 'sent', 'landed', 'failed', 'expired')),
    created_ms               bigint NOT NULL,
    PRIMARY KEY (order_id, attempt)
);
CREATE UNIQUE INDEX order_txs_one_live ON order_txs (order_id) WHERE state IN ('signed', 'sent');
