"""Pump.fun's bonding curve played by the sandbox (the SVM has no Pump.fun program)."""

from __future__ import annotations

import base64
import time

from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from chain.local import memo_ix, transfer_checked_ix
from core.errors import ServiceError
from market import bonding_curve as bc
from sandbox.rpc import SandboxRpc
from streams.records import PoolState
from venues.pumpfun import schemas as pump
from venues.pumpfun.addresses import TOKEN_PROGRAM_ID


def trade_event_line(mint: str, sol: int, tokens: int, is_buy: bool, user: Pubkey, after: bc.Curve) -> str:
    """A `TradeEvent` as a `Program data:` line, in its first (129-byte) layout, which every decoder
    version reads: mint, sol and token amounts, side, user, timestamp, the reserves after the trade
    (pump-fun/pump-public-docs, idl/pump.json: events.TradeEvent; docs/protocols/README.md)."""
    body = (
        pump.TRADE_EVENT_DISCRIMINATOR
        + bytes(Pubkey.from_string(mint))
        + sol.to_bytes(8, "little")
        + tokens.to_bytes(8, "little")
        + bytes([is_buy])
        + bytes(user)
        + int(time.time()).to_bytes(8, "little", signed=True)
        + b"".join(
            v.to_bytes(8, "little")
            for v in (
                after.virtual_sol_reserves,
                after.virtual_token_reserves,
                after.real_sol_reserves,
                after.real_token_reserves,
            )
        )
    )
    return f"Program data: {base64.b64encode(body).decode()}"


class SandboxPump:
    """Pump.fun's legacy `buy` / `sell` on the sandbox's RPC, for one bonding curve.

    The SVM has no Pump.fun program, so this plays it: `getAccountInfo` of the curve serves the account as
    the program lays it out; a transaction calling the program is checked (the instruction's data and
    curve account, the SOL bound, priced with `market.bonding_curve` at the curve's fee) and its effect
    executed on the chain as SPL transfers between the wallet and the curve's vaults, signed by the wallet
    as the vaults' delegate. A bound the curve cannot meet fails the instruction (custom error 6002/6003,
    TooMuchSolRequired / TooLittleSolReceived), as the program does.
    """

    BUY, SELL = bytes([102, 6, 61, 18, 1, 218, 235, 234]), bytes([51, 230, 133, 164, 1, 127, 131, 173])

    def __init__(self, rpc: SandboxRpc, wallet: Keypair, state: PoolState, creator: Pubkey) -> None:
        self.rpc, self.chain, self.wallet, self.state, self.creator = rpc, rpc.chain, wallet, state, creator
        self.curve = bc.Curve(state.base_reserve, state.quote_reserve, state.real_base_reserve)
        self.program = Pubkey.from_string(pump.PROGRAM_ID)
        self.chain.ensure_pool(state)
        for mint in (state.base_mint, state.quote_mint):
            self.chain.delegate_vault(state.pool, mint, wallet.pubkey())
        rpc.programs[self.program] = self
        rpc.accounts[state.pool] = lambda: (self.account_data(), pump.PROGRAM_ID)
        # The venue reads the mint's owner for its token program (a legacy SPL Token coin here).
        rpc.accounts[state.base_mint] = lambda: (bytes(82), str(TOKEN_PROGRAM_ID))

        self.last_logs: list[str] = []

    def account_data(self) -> bytes:
        c = self.curve
        fields = (
            c.virtual_token_reserves,
            c.virtual_sol_reserves,
            c.real_token_reserves,
            c.real_sol_reserves,
        )
        body = b"".join(v.to_bytes(8, "little") for v in (*fields, 10**15)) + bytes([c.complete])
        return pump.BONDING_CURVE_DISCRIMINATOR + body + bytes(self.creator) + bytes(3) + bytes(32)

    def run(self, tx: VersionedTransaction, *, execute: bool) -> tuple[object, int]:
        keys = list(tx.message.account_keys)
        found = [
            (i, ix)
            for i, ix in enumerate(tx.message.instructions)
            if keys[ix.program_id_index] == self.program
        ]
        index, ix = found[0]
        data = bytes(ix.data)
        if keys[ix.accounts[3]] != Pubkey.from_string(self.state.pool):
            return {"InstructionError": [index, {"Custom": 2006}]}, 0  # ConstraintSeeds: another curve
        amount, bound = int.from_bytes(data[8:16], "little"), int.from_bytes(data[16:24], "little")
        fee_bps, state = self.state.fee_bps, self.state
        if data[:8] == self.BUY:
            tokens, cost, fee = bc.buy_cost(self.curve, amount, fee_bps)
            if cost + fee > bound:
                return {"InstructionError": [index, {"Custom": 6002}]}, 0
            moves = ((state.quote_mint, cost + fee, True), (state.base_mint, tokens, False))
            after = bc.apply_buy(self.curve, tokens, cost)
        elif data[:8] == self.SELL:
            gross, fee = bc.sell_proceeds(self.curve, amount, fee_bps)
            if gross - fee < bound:
                return {"InstructionError": [index, {"Custom": 6003}]}, 0
            moves = ((state.base_mint, amount, True), (state.quote_mint, gross - fee, False))
            after = bc.apply_sell(self.curve, amount, gross)
        else:
            return {"InstructionError": [index, "InvalidInstructionData"]}, 0
        if execute:
            self._transfer(moves, str(tx.signatures[0]))
            self.curve = after
            sol = cost if data[:8] == self.BUY else gross
            token = tokens if data[:8] == self.BUY else amount
            self.last_logs = [
                trade_event_line(state.base_mint, sol, token, data[:8] == self.BUY, keys[0], after)
            ]
        return None, 42_000

    def logs(self) -> list[str]:
        """The program's log lines for the trade `run` last executed."""
        return self.last_logs

    def _transfer(self, moves: tuple[tuple[str, int, bool], ...], signature: str) -> None:
        chain, user, pool = self.chain, self.wallet.pubkey(), self.state.pool
        decimals = {
            self.state.base_mint: self.state.base_decimals,
            self.state.quote_mint: self.state.quote_decimals,
        }
        ixs = []
        for mint, amount, into_pool in moves:
            wallet_account, vault = chain.wallet_account(mint), chain.vault(pool, mint)
            source, dest = (wallet_account, vault) if into_pool else (vault, wallet_account)
            ixs.append(
                transfer_checked_ix(source, chain.mint_address(mint), dest, user, amount, decimals[mint])
            )
        ixs.append(memo_ix(signature))  # unique per trade: two equal trades are two transactions
        message = MessageV0.try_compile(user, ixs, [], self.rpc.svm.latest_blockhash())
        result = self.rpc.svm.send_transaction(VersionedTransaction(message, [self.wallet]))
        if isinstance(result, FailedTransactionMetadata):  # the vaults' delegation or balances are wrong
            raise ServiceError(f"sandbox pool transfer failed: {result.err()}")
