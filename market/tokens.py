"""Well-known mints and their decimals (PROTOCOLS.md section 2)."""

from __future__ import annotations

WSOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
JUP = "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN"
BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"

DECIMALS = {WSOL: 9, USDC: 6, JUP: 6, BONK: 5}
SYMBOLS = {WSOL: "SOL", USDC: "USDC", JUP: "JUP", BONK: "BONK"}


def initial_wallet(start_usdc: float, start_sol: float) -> dict[str, int]:
    """The paper wallet's opening balances in raw units."""
    return {USDC: round(start_usdc * 10 ** DECIMALS[USDC]), WSOL: round(start_sol * 10 ** DECIMALS[WSOL])}
