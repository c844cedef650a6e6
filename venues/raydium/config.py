"""How solbot reads Raydium pools: which side of a pool is the quote, and the symbols pairs are named with."""

from __future__ import annotations

from market.tokens import USDC, WSOL

USDT = "Es9vMFrzaCERmJfrF4H3FYdoxkbmm9D4p8F3uXPgPLmt"
# Preferred quote currencies, best first: a pool with one of these trades as <other>/<this>.
QUOTE_MINTS = (USDC, USDT, WSOL)
SYMBOLS = {WSOL: "SOL", USDC: "USDC", USDT: "USDT"}
