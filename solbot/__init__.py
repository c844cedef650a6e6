"""solbot: an autonomous Solana DEX trading bot built as a Faust stream-processing application."""

__version__ = "0.1.0"
