"""Raydium AMM v4's bytes into its schemas: `ray_log` swap lines and the `AmmInfo` account.

Types 0-2 of `ray_log` (Init, Deposit, Withdraw) carry no trade and are refused with a `DecodeError`
naming them, rather than decoded from an unverified layout. `LOG_DECODER` and `ACCOUNT_DECODER` are what
`venues.registry` hands the chain collector for this program.
"""

from __future__ import annotations

from chain.borsh import Reader, b64decode
from core.errors import DecodeError
from streams.records import PoolState
from venues.raydium.config import QUOTE_MINTS
from venues.raydium.schemas import (
    AMM_INFO_SIZE,
    AMM_INFO_VAULTS_OFFSET,
    COIN_TO_PC,
    DEFAULT_FEE_BPS,
    LOG_TYPE_NAMES,
    PC_TO_COIN,
    PROGRAM_ID,
    PROGRAM_LOG_PREFIX,
    RAY_LOG_PREFIX,
    SWAP_BASE_IN_TAG,
    SWAP_BASE_IN_V2_TAG,
    SWAP_BASE_OUT_TAG,
    SWAP_BASE_OUT_V2_TAG,
    SWAP_LOG_SIZE,
    SWAP_TAGS,
    AmmInfo,
    PoolInfo,
    RayLog,
    SwapBaseIn,
    SwapBaseOut,
)

__all__ = [
    "AMM_INFO_SIZE",
    "AMM_INFO_VAULTS_OFFSET",
    "COIN_TO_PC",
    "DEFAULT_FEE_BPS",
    "LOG_TYPE_NAMES",
    "PC_TO_COIN",
    "PROGRAM_ID",
    "PROGRAM_LOG_PREFIX",
    "RAY_LOG_PREFIX",
    "SWAP_BASE_IN_TAG",
    "SWAP_BASE_IN_V2_TAG",
    "SWAP_BASE_OUT_TAG",
    "SWAP_BASE_OUT_V2_TAG",
    "SWAP_LOG_SIZE",
    "SWAP_TAGS",
    "AmmInfo",
    "PoolInfo",
    "RayLog",
    "SwapBaseIn",
    "SwapBaseOut",
    "decode_amm_info",
    "decode_ray_log",
    "decode_ray_log_bytes",
    "decode_text",
    "ray_log_bytes",
]


def ray_log_bytes(line_or_b64: str) -> bytes:
    """The raw bytes of a `ray_log`, given the whole log line, `ray_log: <b64>` or the bare base64."""
    text = line_or_b64.strip().removeprefix(PROGRAM_LOG_PREFIX.strip()).strip()
    text = text.removeprefix(RAY_LOG_PREFIX.strip()).strip()
    data = b64decode(text, "ray_log")
    if not data:
        raise DecodeError("ray_log: empty")
    return data


def decode_ray_log_bytes(data: bytes) -> RayLog:
    if not data:
        raise DecodeError("ray_log: empty")
    log_type = data[0]
    name = LOG_TYPE_NAMES.get(log_type)
    if name is None:
        raise DecodeError(f"ray_log: unknown log type {log_type}")
    if log_type < 3:
        raise DecodeError(f"ray_log: type {log_type} ({name}) is not a swap; only swap logs are decoded")
    if len(data) != SWAP_LOG_SIZE:
        raise DecodeError(f"ray_log: {name} is {len(data)} bytes, expected {SWAP_LOG_SIZE}")
    read = Reader(data, f"ray_log {name}", offset=1)
    first, second = read.u64(), read.u64()
    direction = read.u64("direction")
    if direction not in (PC_TO_COIN, COIN_TO_PC):
        raise DecodeError(f"ray_log: {name} direction is {direction}, expected 1 or 2")
    user_source, pool_coin, pool_pc, last = read.u64(), read.u64(), read.u64(), read.u64()
    if log_type == 3:
        return SwapBaseIn(first, second, direction, user_source, pool_coin, pool_pc, last)
    return SwapBaseOut(first, second, direction, user_source, pool_coin, pool_pc, last)


def decode_ray_log(line_or_b64: str) -> RayLog:
    """A `ray_log` swap, from the whole log line or its base64."""
    return decode_ray_log_bytes(ray_log_bytes(line_or_b64))


def decode_amm_info(data: bytes) -> AmmInfo:
    return AmmInfo.decode(data)


def decode_text(text: str) -> RayLog:
    """A `ray_log` swap from the whole log line, `ray_log: <b64>` or the bare base64 (`solbot decode`)."""
    return decode_ray_log(text)


class _LogDecoder:
    """The chain collector's view: the swap `ray_log`s; Init, Deposit and Withdraw carry no trade."""

    def program_data(self, b64: str) -> None:
        return None

    def program_log(self, text: str) -> RayLog | None:
        if not text.startswith(RAY_LOG_PREFIX):
            return None
        data = b64decode(text[len(RAY_LOG_PREFIX) :], "ray_log")
        if data and data[0] < 3:
            return None  # Init / Deposit / Withdraw: no trade
        return decode_ray_log_bytes(data)


class _AccountDecoder:
    """A followed AMM v4 pool account's data as a `PoolState` (reserves 0: they are in the vaults)."""

    def parse_to_pool_state(
        self,
        address: str,
        data: bytes,
        *,
        base_mint: str,
        fee_bps: int,
        ts_ms: int,
        slot: int,
        received_ms: int,
        creator_fee_bps: int = 0,
    ) -> PoolState | None:
        return decode_amm_info(data).parse_to_pool_state(
            address, quote_mints=QUOTE_MINTS, ts_ms=ts_ms, slot=slot, received_ms=received_ms
        )


LOG_DECODER = _LogDecoder()
ACCOUNT_DECODER = _AccountDecoder()
