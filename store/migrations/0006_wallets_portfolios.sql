-- The spec's wallet and portfolio entities. Keys never live here (they are in the encrypted keystore):
-- a wallet row is a public address and what the bot knows of it; a portfolio row names a book of
-- balances, positions and orders (the `portfolio` column elsewhere).

CREATE TABLE IF NOT EXISTS portfolios (
    portfolio   text PRIMARY KEY,
    base_mint   text NOT NULL,            -- what equity is reported in (USDC)
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS wallets (
    address        text PRIMARY KEY,      -- base58 public key
    is_owner       boolean NOT NULL DEFAULT false,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    sign_ins       bigint NOT NULL DEFAULT 0
);
