"""Raydium AMM v4 played by the sandbox, for the swaps its simulated traders send.

The SVM has no Raydium program, so, as `sandbox.pump` does for Pump.fun, the sandbox plays it: each pool
is served as a 752-byte `AmmInfo` account owned by the AMM v4 program (offsets of Raydium's published
`LIQUIDITY_STATE_LAYOUT_V4`, raydium-io/raydium-sdk, src/liquidity/layout.ts), and a transaction calling
the program's `swapBaseIn` (tag 9, the 17-account list of raydium-io/raydium-amm,
program/src/instruction.rs) is checked (pool, vaults, signer, bound) and executed on the chain as one
transaction of two `transfer_checked` instructions under each mint's own program (SPL Token or
Token-2022): the trader's input into the pool's vault, signed by the trader, and the output from the
other vault, co-signed by the sandbox as the pool's authority. The swap is logged as the program logs
it (`ray_log`, `sandbox.pools.ray_log_line`), so `getTransaction` shows a real AMM v4 swap instruction
(the chain collector's pool resolver reads it) and the logs a real `ray_log`.

The trader must be one whose key the sandbox holds (`register`): the program double cannot move tokens
out of an account with the outer transaction's signature, so it re-signs the transfers itself.
"""

from __future__ import annotations

import hashlib
import struct

from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from chain.local import memo_ix, token_amount, transfer_checked_ix
from core.errors import ServiceError
from market import amm
from sandbox.pools import RaydiumPools, SwapMoves
from sandbox.rpc import SandboxRpc
from streams.records import PoolState
from venues.raydium.schemas import AMM_INFO_SIZE, AMM_INFO_VAULTS_OFFSET, PROGRAM_ID

SWAP_BASE_IN_TAG = 9
SWAP_ACCOUNTS = 17  # without target_orders: coin vault at 4, pc vault at 5, user accounts at 14..16
EXCEEDED_SLIPPAGE = 30  # AmmError::ExceededSlippage (raydium-amm, program/src/error.rs)
INVALID_INPUT = 7  # AmmError::InvalidInput: a pool, vault or user account that does not fit
INSUFFICIENT_FUNDS = 1  # TokenError::InsufficientFunds, as the token program fails the transfer
SWAP_UNITS = 32_000


def amm_info_data(state: PoolState, coin_vault: Pubkey, pc_vault: Pubkey) -> bytes:
    """The pool's `AmmInfo`: status 6 (swap only), decimals, the swap fee as fee_bps / 10,000, then the
    vaults and mints (coin = the pool's base, pc = its quote) and placeholder market keys."""
    data = bytearray(AMM_INFO_SIZE)
    struct.pack_into("<QQQQQQ", data, 0, 6, 254, 7, 3, state.base_decimals, state.quote_decimals)
    struct.pack_into("<QQ", data, 144, 25, 10_000)  # trade fee
    struct.pack_into("<QQ", data, 176, state.fee_bps, 10_000)  # swap fee
    keys = [coin_vault, pc_vault, Pubkey.from_string(state.base_mint), Pubkey.from_string(state.quote_mint)]
    keys += [_placeholder(state.pool, name) for name in ("lp", "open_orders", "market", "serum", "targets")]
    for i, key in enumerate(keys):
        start = AMM_INFO_VAULTS_OFFSET + 32 * i
        data[start : start + 32] = bytes(key)
    return bytes(data)


def _placeholder(pool: str, name: str) -> Pubkey:
    """A stable address for an account the double never reads (authority, market, order book)."""
    return Pubkey(hashlib.sha256(f"sandbox-raydium:{pool}:{name}".encode()).digest())


class RaydiumAmm:
    """The AMM v4 program double (`SandboxRpc.programs`) over `RaydiumPools`' states."""

    def __init__(self, rpc: SandboxRpc, pools: RaydiumPools) -> None:
        self.rpc, self.chain, self.pools = rpc, rpc.chain, pools
        self.program = Pubkey.from_string(PROGRAM_ID)
        self.owners: dict[Pubkey, Keypair] = {}
        self.last_logs: list[str] = []
        self.swaps = 0
        rpc.programs[self.program] = self

    def add_pool(self, state: PoolState) -> None:
        """Create the pool's vaults (its mints must be on the chain with their programs) and serve its
        `AmmInfo`."""
        self.pools.add(state)
        data = amm_info_data(
            state,
            self.chain.vault(state.pool, state.base_mint),
            self.chain.vault(state.pool, state.quote_mint),
        )
        self.rpc.accounts[state.pool] = lambda: (data, PROGRAM_ID)

    def register(self, owner: Keypair) -> None:
        """A trader whose swaps this double may execute."""
        self.owners[owner.pubkey()] = owner

    def swap_ix(
        self, pool: str, owner: Pubkey, *, buy: bool, amount_in: int, minimum_out: int
    ) -> Instruction:
        """`swapBaseIn` for `owner`'s associated accounts (opened, empty, if missing): a buy spends the
        quote mint for the base."""
        state = self.pools.pools[pool]
        spent, received = (state.quote_mint, state.base_mint) if buy else (state.base_mint, state.quote_mint)
        chain = self.chain
        metas = [
            AccountMeta(chain.token_program(spent), False, False),
            AccountMeta(Pubkey.from_string(pool), False, True),
            AccountMeta(_placeholder(pool, "authority"), False, False),
            AccountMeta(_placeholder(pool, "open_orders"), False, True),
            AccountMeta(chain.vault(pool, state.base_mint), False, True),
            AccountMeta(chain.vault(pool, state.quote_mint), False, True),
            *[
                AccountMeta(_placeholder(pool, name), False, False)
                for name in ("serum", "market", "bids", "asks", "events", "coin", "pc", "signer")
            ],
            AccountMeta(chain.open_account(owner, spent), False, True),
            AccountMeta(chain.open_account(owner, received), False, True),
            AccountMeta(owner, True, False),
        ]
        data = struct.pack("<BQQ", SWAP_BASE_IN_TAG, amount_in, minimum_out)
        return Instruction(self.program, data, metas)

    def run(self, tx: VersionedTransaction, *, execute: bool) -> tuple[object, int]:
        keys = list(tx.message.account_keys)
        index, ix = next(
            (i, ix)
            for i, ix in enumerate(tx.message.instructions)
            if keys[ix.program_id_index] == self.program
        )
        data = bytes(ix.data)
        if len(data) != 17 or data[0] != SWAP_BASE_IN_TAG or len(ix.accounts) != SWAP_ACCOUNTS:
            return {"InstructionError": [index, "InvalidInstructionData"]}, 0
        amount_in, minimum_out = struct.unpack_from("<QQ", data, 1)
        accounts = [keys[i] for i in bytes(ix.accounts)]
        state = self.pools.pools.get(str(accounts[1]))
        owner = self.owners.get(accounts[16])
        signers = keys[: tx.message.header.num_required_signatures]
        if state is None or owner is None or accounts[16] not in signers:
            return {"InstructionError": [index, {"Custom": INVALID_INPUT}]}, 0
        chain, pool = self.chain, state.pool
        vaults = {
            chain.vault(pool, state.base_mint): state.base_mint,
            chain.vault(pool, state.quote_mint): state.quote_mint,
        }
        source = self.rpc.svm.get_account(accounts[14])
        if set(accounts[4:6]) != set(vaults) or source is None or len(source.data) < 32:
            return {"InstructionError": [index, {"Custom": INVALID_INPUT}]}, 0
        buy = Pubkey.from_bytes(bytes(source.data)[:32]) == chain.mint_address(state.quote_mint)
        if token_amount(source) < amount_in:
            return {"InstructionError": [index, {"Custom": INSUFFICIENT_FUNDS}]}, 0
        r_in, r_out = (
            (state.quote_reserve, state.base_reserve) if buy else (state.base_reserve, state.quote_reserve)
        )
        out = amm.quote_out(amount_in, r_in, r_out, state.fee_bps)
        if out < minimum_out or out <= 0:
            return {"InstructionError": [index, {"Custom": EXCEEDED_SLIPPAGE}]}, 0
        if execute:
            spent, received = (
                (state.quote_mint, state.base_mint) if buy else (state.base_mint, state.quote_mint)
            )
            coin_before = token_amount(self.rpc.svm.get_account(chain.vault(pool, state.base_mint)))
            pc_before = token_amount(self.rpc.svm.get_account(chain.vault(pool, state.quote_mint)))
            self._transfer(
                owner,
                state,
                spent,
                received,
                accounts[14],
                accounts[15],
                amount_in,
                out,
                str(tx.signatures[0]),
            )
            moves = (
                SwapMoves(coin_before, -out, pc_before, amount_in)
                if buy
                else SwapMoves(coin_before, amount_in, pc_before, -out)
            )
            self.last_logs = self.pools.record(pool, moves)
            self.swaps += 1
        return None, SWAP_UNITS

    def logs(self) -> list[str]:
        """The `ray_log` of the swap `run` last executed."""
        return self.last_logs

    def _transfer(
        self,
        owner: Keypair,
        state: PoolState,
        spent: str,
        received: str,
        source: Pubkey,
        dest: Pubkey,
        amount_in: int,
        out: int,
        signature: str,
    ) -> None:
        chain, pool, user = self.chain, state.pool, owner.pubkey()
        ixs = [
            transfer_checked_ix(
                source,
                chain.mint_address(spent),
                chain.vault(pool, spent),
                user,
                amount_in,
                chain.decimals(spent),
                chain.token_program(spent),
            ),
            transfer_checked_ix(
                chain.vault(pool, received),
                chain.mint_address(received),
                dest,
                chain.pool_authority,
                out,
                chain.decimals(received),
                chain.token_program(received),
            ),
            memo_ix(signature),  # unique per swap: two equal swaps are two transactions
        ]
        message = MessageV0.try_compile(user, ixs, [], self.rpc.svm.latest_blockhash())
        signed = {
            user: owner.sign_message(to_bytes_versioned(message)),
            chain.pool_authority: chain.pool_signature(message),
        }
        signatures = [signed[k] for k in message.account_keys[: message.header.num_required_signatures]]
        result = self.rpc.svm.send_transaction(VersionedTransaction.populate(message, signatures))
        if isinstance(result, FailedTransactionMetadata):  # balances checked above: the setup is wrong
            raise ServiceError(f"sandbox raydium swap failed: {result.err()}")
