"""The bot's wallet: one Solana keypair, encrypted at rest (`wallet.keystore`)."""
