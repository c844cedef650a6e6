"""Raydium AMM v4: swap logs, the pool account, and which pool a swap log belongs to."""
