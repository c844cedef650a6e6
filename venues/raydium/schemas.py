"""Raydium AMM v4's payloads as typed structs: the swap `ray_log`s and the `AmmInfo` pool account
(PROTOCOLS.md section 6), named as Raydium names them.

The program logs `Program log: ray_log: <base64>` with a bincode struct whose first byte is the log
type: 0 Init, 1 Deposit, 2 Withdraw, 3 SwapBaseIn, 4 SwapBaseOut. Only the two swap logs have structs;
their layouts are checked against real logs (`venues.raydium.decoders` reads them).

The log names neither the pool nor its mints, so turning one into a `Swap` needs a `PoolInfo`.
Reserve convention (as Raydium v4 and `market.amm.swap`): the log's `pool_coin`/`pool_pc` are the
reserves before the swap; afterwards the input side gains the whole input (the fee stays in the pool)
and the output side loses exactly the output.
"""

from __future__ import annotations

from dataclasses import dataclass

from chain.borsh import Reader
from core.errors import DecodeError
from market.venues import VenueName
from streams.records import PoolState, Swap

PROGRAM_ID = "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8"  # AMM v4
CPMM_PROGRAM_ID = "CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C"  # no structs yet (see `venues.registry`)
RAY_LOG_PREFIX = "ray_log: "
PROGRAM_LOG_PREFIX = "Program log: "
DEFAULT_FEE_BPS = 25

LOG_TYPE_NAMES = {0: "Init", 1: "Deposit", 2: "Withdraw", 3: "SwapBaseIn", 4: "SwapBaseOut"}
SWAP_LOG_SIZE = 57  # log_type u8 + seven u64

# Direction values in the swap logs.
PC_TO_COIN = 1
COIN_TO_PC = 2


@dataclass(frozen=True, slots=True)
class PoolInfo:
    """What the log does not say: the pool's address, which mint is base, and its fee.

    `base_is_coin` says whether the pool's coin side is the pair's base (true for SOL/USDC and for
    most token/WSOL pools; false when the pool was created the other way round).
    """

    address: str
    coin_mint: str
    pc_mint: str
    coin_decimals: int
    pc_decimals: int
    base_is_coin: bool = True
    fee_bps: int = DEFAULT_FEE_BPS
    pair: str | None = None  # "BASE/QUOTE"; defaults to the first six characters of each mint

    def __post_init__(self) -> None:
        if not 0 <= self.fee_bps < 10_000:
            raise ValueError(f"fee_bps must be in [0, 10000), got {self.fee_bps}")


class _SwapLog:
    """What the two swap logs share: turning one into a `Swap`. Each says what moved (`moved`)."""

    __slots__ = ()
    direction: int
    pool_coin: int
    pool_pc: int

    def moved(self) -> tuple[int, int]:
        """(into the pool, out of the pool), raw units; the input includes the fee."""
        raise NotImplementedError

    def parse_to_swap(
        self, pool: PoolInfo, *, slot: int, signature: str, ts_ms: int, received_ms: int
    ) -> Swap:
        """The normalised swap. `ts_ms` is the block time (the log carries no clock). The amounts are
        what moved into and out of the pool: the input includes the fee, which stays in the pool."""
        amount_in, amount_out = self.moved()
        direction, pool_coin, pool_pc = self.direction, self.pool_coin, self.pool_pc
        if direction == PC_TO_COIN:
            coin_after, pc_after = pool_coin - amount_out, pool_pc + amount_in
            coin_moved, pc_moved, taker_gets_coin = amount_out, amount_in, True
        else:
            coin_after, pc_after = pool_coin + amount_in, pool_pc - amount_out
            coin_moved, pc_moved, taker_gets_coin = amount_in, amount_out, False
        if coin_after < 0 or pc_after < 0:
            raise DecodeError(f"ray_log: output exceeds the pool's reserve (direction {direction})")
        if pool.base_is_coin:
            base_mint, quote_mint = pool.coin_mint, pool.pc_mint
            base_decimals, quote_decimals = pool.coin_decimals, pool.pc_decimals
            base_moved, quote_moved, base_after, quote_after = coin_moved, pc_moved, coin_after, pc_after
            side = "buy" if taker_gets_coin else "sell"
        else:
            base_mint, quote_mint = pool.pc_mint, pool.coin_mint
            base_decimals, quote_decimals = pool.pc_decimals, pool.coin_decimals
            base_moved, quote_moved, base_after, quote_after = pc_moved, coin_moved, pc_after, coin_after
            side = "sell" if taker_gets_coin else "buy"
        return Swap(
            venue=VenueName.RAYDIUM.value,
            pool=pool.address,
            pair=pool.pair or f"{base_mint[:6]}/{quote_mint[:6]}",
            base_mint=base_mint,
            quote_mint=quote_mint,
            base_decimals=base_decimals,
            quote_decimals=quote_decimals,
            side=side,
            base_amount=base_moved,
            quote_amount=quote_moved,
            base_reserve=base_after,
            quote_reserve=quote_after,
            fee_bps=pool.fee_bps,
            slot=slot,
            ts_ms=ts_ms,
            received_ms=received_ms,
            signature=signature,
        )


@dataclass(frozen=True, slots=True)
class SwapBaseIn(_SwapLog):
    """Exact input: `amount_in` went in, `out_amount` came out (`minimum_out` was the bound).
    `pool_coin`/`pool_pc` are the reserves before the swap."""

    amount_in: int
    minimum_out: int
    direction: int
    user_source: int
    pool_coin: int
    pool_pc: int
    out_amount: int

    def moved(self) -> tuple[int, int]:
        return self.amount_in, self.out_amount


@dataclass(frozen=True, slots=True)
class SwapBaseOut(_SwapLog):
    """Exact output: `amount_out` came out, `deduct_in` (fee included) went in (`max_in` the bound).
    `pool_coin`/`pool_pc` are the reserves before the swap."""

    max_in: int
    amount_out: int
    direction: int
    user_source: int
    pool_coin: int
    pool_pc: int
    deduct_in: int

    def moved(self) -> tuple[int, int]:
        return self.deduct_in, self.amount_out


RayLog = SwapBaseIn | SwapBaseOut


# -- the pool account ---------------------------------------------------------------------------------

AMM_INFO_SIZE = 752  # Raydium AMM v4 `AmmInfo` (program/src/state.rs), no discriminator
AMM_INFO_VAULTS_OFFSET = 336  # after 16 u64 params, 8 u64 fees and the 144-byte StateData
# Instruction tags of the AMM v4 swaps (first data byte) and where their accounts put the pool and vaults.
SWAP_BASE_IN_TAG = 9
SWAP_BASE_OUT_TAG = 11
SWAP_BASE_IN_V2_TAG = 16  # 2025 variants without the OpenBook accounts
SWAP_BASE_OUT_V2_TAG = 17
SWAP_TAGS = (SWAP_BASE_IN_TAG, SWAP_BASE_OUT_TAG, SWAP_BASE_IN_V2_TAG, SWAP_BASE_OUT_V2_TAG)


@dataclass(frozen=True, slots=True)
class AmmInfo:
    """The fields of a v4 pool account that a `Swap` needs (names as in Raydium's `AmmInfo`).

    Reserves are not here: they live in the vault token accounts (less the pool's pending PnL), and
    every swap's `ray_log` states them as the program computed them.
    """

    status: int
    coin_decimals: int
    pc_decimals: int
    swap_fee_numerator: int
    swap_fee_denominator: int
    need_take_pnl_coin: int
    need_take_pnl_pc: int
    coin_vault: str
    pc_vault: str
    coin_vault_mint: str
    pc_vault_mint: str
    lp_mint: str
    open_orders: str
    market: str

    @classmethod
    def decode(cls, data: bytes) -> AmmInfo:
        if len(data) != AMM_INFO_SIZE:
            raise DecodeError(f"AmmInfo: {len(data)} bytes, expected {AMM_INFO_SIZE}")
        read = Reader(data, "AmmInfo")
        status = read.u64("status")
        read.take(24, "nonce..depth")
        coin_decimals, pc_decimals = read.u64("coin_decimals"), read.u64("pc_decimals")
        read.take(8 * 10, "state..sys_decimal_value")
        read.take(8 * 6, "fees.min_separate..pnl")
        fee_num, fee_den = read.u64("swap_fee_numerator"), read.u64("swap_fee_denominator")
        need_coin, need_pc = read.u64("need_take_pnl_coin"), read.u64("need_take_pnl_pc")
        read.take(AMM_INFO_VAULTS_OFFSET - 208, "state_data")
        if coin_decimals > 30 or pc_decimals > 30 or fee_den == 0 or fee_num >= fee_den:
            raise DecodeError(
                f"AmmInfo: implausible decimals {coin_decimals}/{pc_decimals} or fee {fee_num}/{fee_den}"
            )
        return cls(
            status=status,
            coin_decimals=coin_decimals,
            pc_decimals=pc_decimals,
            swap_fee_numerator=fee_num,
            swap_fee_denominator=fee_den,
            need_take_pnl_coin=need_coin,
            need_take_pnl_pc=need_pc,
            coin_vault=read.pubkey("coin_vault"),
            pc_vault=read.pubkey("pc_vault"),
            coin_vault_mint=read.pubkey("coin_vault_mint"),
            pc_vault_mint=read.pubkey("pc_vault_mint"),
            lp_mint=read.pubkey("lp_mint"),
            open_orders=read.pubkey("open_orders"),
            market=read.pubkey("market"),
        )

    @property
    def fee_bps(self) -> int:
        """The swap fee in whole basis points (25 on every standard pool: 25/10000)."""
        return self.swap_fee_numerator * 10_000 // self.swap_fee_denominator

    def to_pool_info(
        self, address: str, *, quote_mints: tuple[str, ...] = (), pair: str | None = None
    ) -> PoolInfo:
        """`base_is_coin` unless the coin mint is one of `quote_mints` and the pc mint is not (or is
        later in the list): a USDC/SOL pool trades as SOL/USDC whichever way it was created."""
        rank = {mint: i for i, mint in enumerate(quote_mints)}
        coin_rank = rank.get(self.coin_vault_mint, len(rank))
        pc_rank = rank.get(self.pc_vault_mint, len(rank))
        return PoolInfo(
            address=address,
            coin_mint=self.coin_vault_mint,
            pc_mint=self.pc_vault_mint,
            coin_decimals=self.coin_decimals,
            pc_decimals=self.pc_decimals,
            base_is_coin=not coin_rank < pc_rank,
            fee_bps=self.fee_bps,
            pair=pair,
        )

    def parse_to_pool_state(
        self, address: str, *, quote_mints: tuple[str, ...], ts_ms: int, slot: int, received_ms: int
    ) -> PoolState:
        """The pool as a `PoolState`: mints, decimals and fee, but reserves 0 (they are in the vaults)."""
        pool = self.to_pool_info(address, quote_mints=quote_mints)
        coin = (pool.coin_mint, pool.coin_decimals)
        pc = (pool.pc_mint, pool.pc_decimals)
        (base_mint, base_decimals), (quote_mint, quote_decimals) = (
            (coin, pc) if pool.base_is_coin else (pc, coin)
        )
        return PoolState(
            venue=VenueName.RAYDIUM.value,
            pool=address,
            base_mint=base_mint,
            quote_mint=quote_mint,
            base_decimals=base_decimals,
            quote_decimals=quote_decimals,
            base_reserve=0,  # in the vaults, not in this account
            quote_reserve=0,
            fee_bps=pool.fee_bps,
            ts_ms=ts_ms,
            slot=slot,
            received_ms=received_ms,
        )
