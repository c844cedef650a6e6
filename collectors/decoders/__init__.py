"""Byte-level decoders for on-chain events (Pump.fun, Raydium AMM v4, Jupiter v6).

Each decoder turns raw bytes into a frozen dataclass named and shaped as the venue names it, and that
dataclass knows how to become a normalised record (`parse_to_swap`, `parse_to_launch`). Anything that
does not match its schema raises `core.errors.DecodeError`, and nothing else.
"""
