"""Jupiter market data: Price v3 and Swap API v1 quotes for the tracked pairs (the venue's data client).

One poll (`collectors.feeds.JupiterCollector`) asks Price v3 once for every mint of every pair, then one
quote per pair for one whole base token (10**decimals raw units), the size a spread feature compares
against the pools' marginal price. The free tier allows 60 requests a minute shared by all endpoints:
at the default `JUPITER_POLL_S=5` and three pairs a poll costs four requests, 48 a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from core.errors import ConfigError
from market.tokens import DECIMALS, SYMBOLS
from venues.http import JsonHttp
from venues.jupiter.schemas import QuoteResponse, TokenPrice, parse_prices

MINT_OF = {symbol: mint for mint, symbol in SYMBOLS.items()}


@dataclass(frozen=True, slots=True)
class TrackedPair:
    pair: str
    base_mint: str
    quote_mint: str
    base_decimals: int


def tracked_pairs(pairs: tuple[str, ...]) -> list[TrackedPair]:
    """`SOL/USDC` -> mints and decimals from `market.tokens`; an unknown symbol is a config error."""
    out = []
    for pair in pairs:
        base, _, quote = pair.partition("/")
        if base not in MINT_OF or quote not in MINT_OF:
            raise ConfigError(f"bad setting PAIRS: no known mint for {pair!r} (known: {', '.join(MINT_OF)})")
        out.append(TrackedPair(pair, MINT_OF[base], MINT_OF[quote], DECIMALS[MINT_OF[base]]))
    return out


class JupiterClient:
    """Price v3 and quote requests. `x-api-key` is sent when a key is configured; never logged."""

    def __init__(
        self, base_url: str, *, api_key: SecretStr | None = None, timeout_s: float = 5.0, **http: Any
    ) -> None:
        headers = {"x-api-key": api_key.get_secret_value()} if api_key is not None else {}
        self.http = JsonHttp(base_url, headers=headers, timeout_s=timeout_s, **http)

    async def start(self) -> None:
        await self.http.start()

    async def close(self) -> None:
        await self.http.close()

    async def prices(self, mints: list[str]) -> dict[str, TokenPrice]:
        return parse_prices(await self.http.get("/price/v3", {"ids": ",".join(mints)}))

    async def quote(
        self, input_mint: str, output_mint: str, amount: int, *, slippage_bps: int = 50
    ) -> QuoteResponse:
        params: dict[str, str | int] = {
            "inputMint": input_mint,
            "outputMint": output_mint,
            "amount": str(amount),
            "slippageBps": slippage_bps,
        }
        return QuoteResponse.parse(await self.http.get("/swap/v1/quote", params))
