"""The Solana side every layer above shares: a local chain (LiteSVM), the JSON-RPC client, and the
binary and log formats programs write (`borsh`, `logs`)."""
