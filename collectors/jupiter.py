"""Jupiter prices (Price v3) and quotes (Swap API v1) for the tracked pairs, onto raw.quotes.

Responses become typed dataclasses at the edge, named as Jupiter names them; amounts, which Jupiter
sends as strings, become ints. One poll asks Price v3 once for every mint of every pair, then one
quote per pair for one whole base token (10**decimals raw units), the size a spread feature compares
against the pools' marginal price. The free tier allows 60 requests a minute shared by all endpoints:
at the default `JUPITER_POLL_S=5` and three pairs a poll costs four requests, 48 a minute.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from collectors.http import JsonHttp
from collectors.metrics import COLLECTOR_EVENTS, COLLECTOR_LAG
from collectors.polling import poll_forever
from collectors.sink import RecordSink, observe_produced
from core.errors import ConfigError, DecodeError, SolbotError
from market.tokens import DECIMALS, SYMBOLS
from streams.codec import encode
from streams.records import JupiterQuote
from streams.topics import RAW_QUOTES

log = logging.getLogger(__name__)

SOURCE = "jupiter"
MINT_OF = {symbol: mint for mint, symbol in SYMBOLS.items()}


def _int(value: Any, where: str) -> int:
    """Jupiter's amounts are decimal strings of integers; refuse anything else rather than guess."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise DecodeError(f"{where}: expected an integer string, got {value!r}")


def _float(value: Any, where: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise DecodeError(f"{where}: expected a number, got {value!r}")


def _str(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise DecodeError(f"{where}.{key}: expected a string, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class TokenPrice:
    """One entry of a Price v3 answer."""

    mint: str
    usd_price: float
    block_id: int | None
    decimals: int
    price_change_24h: float | None

    @classmethod
    def parse(cls, mint: str, data: Any) -> TokenPrice:
        if not isinstance(data, dict):
            raise DecodeError(f"price[{mint}]: expected an object")
        block = data.get("blockId")
        change = data.get("priceChange24h")
        return cls(
            mint=mint,
            usd_price=_float(data.get("usdPrice"), f"price[{mint}].usdPrice"),
            block_id=None if block is None else _int(block, f"price[{mint}].blockId"),
            decimals=_int(data.get("decimals"), f"price[{mint}].decimals"),
            price_change_24h=None if change is None else _float(change, f"price[{mint}].priceChange24h"),
        )


def parse_prices(data: Any) -> dict[str, TokenPrice]:
    """`{mint: {usdPrice, blockId, decimals, priceChange24h}}`; mints without a price are left out."""
    if not isinstance(data, dict):
        raise DecodeError("price v3: expected an object keyed by mint")
    return {mint: TokenPrice.parse(mint, entry) for mint, entry in data.items() if entry is not None}


@dataclass(frozen=True, slots=True)
class RoutePlanStep:
    amm_key: str
    label: str
    input_mint: str
    output_mint: str
    in_amount: int
    out_amount: int
    percent: int | None  # newer responses may send `bps` instead
    bps: int | None


@dataclass(frozen=True, slots=True)
class Quote:
    """A `GET /swap/v1/quote` answer (required fields, plus contextSlot and timeTaken when present)."""

    input_mint: str
    in_amount: int
    output_mint: str
    out_amount: int
    other_amount_threshold: int
    swap_mode: str
    slippage_bps: int
    price_impact_pct: float
    route_plan: tuple[RoutePlanStep, ...]
    context_slot: int | None
    time_taken_s: float | None

    @classmethod
    def parse(cls, data: Any) -> Quote:
        if not isinstance(data, dict):
            raise DecodeError("quote: expected an object")
        plan = data.get("routePlan")
        if not isinstance(plan, list):
            raise DecodeError("quote.routePlan: expected a list")
        steps = []
        for i, step in enumerate(plan):
            info = step.get("swapInfo") if isinstance(step, dict) else None
            if not isinstance(info, dict):
                raise DecodeError(f"quote.routePlan[{i}].swapInfo: expected an object")
            where = f"quote.routePlan[{i}]"
            steps.append(
                RoutePlanStep(
                    amm_key=_str(info, "ammKey", where),
                    label=_str(info, "label", where),
                    input_mint=_str(info, "inputMint", where),
                    output_mint=_str(info, "outputMint", where),
                    in_amount=_int(info.get("inAmount"), f"{where}.inAmount"),
                    out_amount=_int(info.get("outAmount"), f"{where}.outAmount"),
                    percent=None
                    if step.get("percent") is None
                    else _int(step["percent"], f"{where}.percent"),
                    bps=None if step.get("bps") is None else _int(step["bps"], f"{where}.bps"),
                )
            )
        slot = data.get("contextSlot")
        taken = data.get("timeTaken")
        return cls(
            input_mint=_str(data, "inputMint", "quote"),
            in_amount=_int(data.get("inAmount"), "quote.inAmount"),
            output_mint=_str(data, "outputMint", "quote"),
            out_amount=_int(data.get("outAmount"), "quote.outAmount"),
            other_amount_threshold=_int(data.get("otherAmountThreshold"), "quote.otherAmountThreshold"),
            swap_mode=_str(data, "swapMode", "quote"),
            slippage_bps=_int(data.get("slippageBps"), "quote.slippageBps"),
            price_impact_pct=_float(data.get("priceImpactPct"), "quote.priceImpactPct"),
            route_plan=tuple(steps),
            context_slot=None if slot is None else _int(slot, "quote.contextSlot"),
            time_taken_s=None if taken is None else _float(taken, "quote.timeTaken"),
        )

    def parse_to_quote(
        self, pair: str, prices: dict[str, TokenPrice], *, ts_ms: int, received_ms: int
    ) -> JupiterQuote:
        price_in, price_out = prices.get(self.input_mint), prices.get(self.output_mint)
        return JupiterQuote(
            pair=pair,
            input_mint=self.input_mint,
            output_mint=self.output_mint,
            in_amount=self.in_amount,
            out_amount=self.out_amount,
            other_amount_threshold=self.other_amount_threshold,
            swap_mode=self.swap_mode,
            slippage_bps=self.slippage_bps,
            price_impact_pct=self.price_impact_pct,
            route=[step.label for step in self.route_plan],
            context_slot=self.context_slot or 0,
            usd_price_in=price_in.usd_price if price_in else 0.0,
            usd_price_out=price_out.usd_price if price_out else 0.0,
            ts_ms=ts_ms,
            received_ms=received_ms,
        )


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

    async def quote(self, input_mint: str, output_mint: str, amount: int, *, slippage_bps: int = 50) -> Quote:
        params: dict[str, str | int] = {
            "inputMint": input_mint,
            "outputMint": output_mint,
            "amount": str(amount),
            "slippageBps": slippage_bps,
        }
        return Quote.parse(await self.http.get("/swap/v1/quote", params))


class JupiterCollector:
    """Polls prices and quotes every `poll_s` and produces `JupiterQuote`s keyed by pair."""

    def __init__(
        self, client: JupiterClient, sink: RecordSink, pairs: tuple[str, ...], *, poll_s: float = 5.0
    ) -> None:
        self.client = client
        self.sink = sink
        self.pairs = tracked_pairs(pairs)
        self.poll_s = poll_s
        self.polls = 0
        self.errors = 0
        self.produced = 0

    async def poll_once(self) -> list[JupiterQuote]:
        started_ns = time.monotonic_ns()
        mints = sorted({m for p in self.pairs for m in (p.base_mint, p.quote_mint)})
        prices = await self.client.prices(mints)
        out = []
        for p in self.pairs:
            quote = await self.client.quote(p.base_mint, p.quote_mint, 10**p.base_decimals)
            now_ms = int(time.time() * 1000)
            record = quote.parse_to_quote(p.pair, prices, ts_ms=now_ms, received_ms=now_ms)
            fut = await self.sink.send(RAW_QUOTES.name, p.pair.encode(), encode(record))
            observe_produced(fut, SOURCE, started_ns)
            COLLECTOR_EVENTS.labels(SOURCE, RAW_QUOTES.name).inc()
            out.append(record)
        COLLECTOR_LAG.labels(SOURCE).observe((time.monotonic_ns() - started_ns) / 1e9)
        self.polls += 1
        self.produced += len(out)
        return out

    async def run(self) -> None:
        """Poll until cancelled; a failed poll is logged and counted, and the next one goes ahead."""
        await poll_forever(self.poll_once, source=SOURCE, poll_s=self.poll_s, on_error=self._failed)

    def _failed(self, _exc: SolbotError) -> None:
        self.errors += 1
