"""Chains the bot settles on: `chain.local.LocalChain`, a real Solana VM in-process (LiteSVM)."""
