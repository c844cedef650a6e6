"""Jupiter's payloads as typed structs: the v6 program's `SwapEvent`, and the Swap API's and Price API's
answers (PROTOCOLS.md §2), named as Jupiter names them.

Amounts, which the APIs send as decimal strings, become ints; anything not shaped as documented raises
`DecodeError` naming the field, rather than being guessed. A quote becomes the domain's `JupiterQuote`
with `parse_to_quote`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from chain.borsh import Reader
from core.errors import DecodeError
from streams.records import JupiterQuote

PROGRAM_ID = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4"
# Anchor: sha256("event:SwapEvent")[:8] = 40c6cde8260871e2, shared by any Anchor program with an event of
# that name (Raydium CPMM and CLMM too): these bytes mean a Jupiter hop only when Jupiter emitted them.
SWAP_EVENT_DISCRIMINATOR = hashlib.sha256(b"event:SwapEvent").digest()[:8]
SWAP_EVENT_SIZE = 8 + 32 + 32 + 8 + 32 + 8


@dataclass(frozen=True, slots=True)
class SwapEvent:
    """One hop: `input_amount` of `input_mint` went into `amm`, `output_amount` of `output_mint` out."""

    amm: str
    input_mint: str
    input_amount: int
    output_mint: str
    output_amount: int

    @classmethod
    def decode(cls, payload: bytes) -> SwapEvent:
        """The Borsh payload after the discriminator; trailing bytes mean a different layout."""
        read = Reader(payload, "Jupiter SwapEvent")
        event = cls(
            amm=read.pubkey("amm"),
            input_mint=read.pubkey("input_mint"),
            input_amount=read.u64("input_amount"),
            output_mint=read.pubkey("output_mint"),
            output_amount=read.u64("output_amount"),
        )
        if not read.at_end():
            raise DecodeError(f"Jupiter SwapEvent: {read.remaining} unexpected trailing bytes")
        return event


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
class QuoteResponse:
    """A `GET /swap/v1/quote` answer (required fields, plus contextSlot and timeTaken when present).

    `raw` is the answer as received: `/swap` takes it back untouched as `quoteResponse`.
    """

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
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, data: Any) -> QuoteResponse:
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
            raw=data,
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
