"""Pump.fun played by the sandbox (the SVM has no Pump.fun program): launches and bonding-curve trades.

One program double (`SandboxRpc.programs`) for every curve. `getAccountInfo` serves the `Global` account
(the fee-recipient lists, `parse_global_fee_recipients`' offsets; the recipients are sandbox keys) and
each curve's `BondingCurve` account, both owned by the program. A launch (`create`) puts the coin's SPL
mint at its real address (the venue derives the curve, the token accounts and the token program from it),
opens the curve's token vault at its real address (the associated account of the curve PDA) holding the
curve's real token reserves, and logs the official `CreateEvent`. Legacy `buy` (exact tokens out,
`max_sol_cost`: custom error 6002) and `sell` (exact tokens in, `min_sol_output`: 6003) are priced with
`market.bonding_curve` at the curve's fee, as the simulator prices them, on the curve named by account 3
(2006 ConstraintSeeds for an unknown one), and executed as one inner transaction paid by the sandbox's
pool authority: SOL moves as native lamports (system transfers between the user, the curve's SOL holder
and the fee recipient), tokens between the curve's vault and the user's associated account (opened by
the sandbox when missing), and the fee payer (the user, as a rule) is charged exactly the outer
transaction's fee (`fee_of`), a failed one too. So `getTransaction`'s pre/post balances show what
mainnet's would, and `venues.landed.landing_from_record` reads a fill the way it does there. Each trade is
logged as a `TradeEvent` with its fee fields.

What mainnet does that this double does not: the curve PDA holds the SOL (here a sandbox key per curve,
not one of the transaction's accounts, so only the user's lamports show the move); the creator's fee,
creator vault, volume accumulators, buyback recipient and `bonding_curve_v2` are not checked or paid;
the user pays the rent of the associated account it creates in its buy (here the sandbox does); a
complete curve is not migrated; the event is a `Program data:` line only (no self-CPI instruction); the
`create` instruction's metadata accounts are not created. The double executes trades only for owners
whose key it holds (`register`: its traders and the world's wallet), because it re-signs the transfers.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from chain.local import memo_ix, token_amount, transfer_checked_ix
from core.errors import ServiceError
from market import bonding_curve as bc
from sandbox.history import fee_of
from sandbox.rpc import SandboxRpc
from streams.records import Launch
from venues.pumpfun import schemas as pump
from venues.pumpfun.addresses import (
    ASSOCIATED_TOKEN_PROGRAM_ID,
    EVENT_AUTHORITY,
    GLOBAL,
    PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    FeeRecipients,
    associated_token_address,
    bonding_curve_pda,
)
from venues.pumpfun.instructions import BUY, SELL

CREATE = hashlib.sha256(b"global:create").digest()[:8]
GLOBAL_DISCRIMINATOR = hashlib.sha256(b"account:Global").digest()[:8]
METADATA_PROGRAM = Pubkey.from_string("metaqbxxUerdq28cj1RbAWkYQm3ybzjb6a8bt518x1s")
RENT_SYSVAR = Pubkey.from_string("SysvarRent111111111111111111111111111111111")
FEE_BPS = 125  # the simulator's Pump.fun fee (market.simulator), creator part 0
TRADE_UNITS, CREATE_UNITS = 42_000, 120_000
# The program's custom errors (pump-public-docs idl/pump.json errors; Anchor's ConstraintSeeds).
TOO_MUCH_SOL_REQUIRED, TOO_LITTLE_SOL_RECEIVED, CURVE_COMPLETE = 6002, 6003, 6005
NOT_AUTHORIZED, CONSTRAINT_SEEDS, ALREADY_IN_USE, INSUFFICIENT_FUNDS = 6000, 2006, 0, 1
# Global account offsets (venues.pumpfun.addresses): fee_recipient, fee_recipients[7], reserved, buyback.
_FEE_RECIPIENT_AT, _FEE_RECIPIENTS_AT, _RESERVED_AT, _BUYBACK_AT, _GLOBAL_LEN = 41, 162, 483, 741, 997
_DELEGATE_AT, _DELEGATED_AMOUNT_AT = 72, 121  # SPL token account: COption<Pubkey> delegate, u64 amount


def _key(*parts: object) -> Keypair:
    """A stable sandbox key (a fee recipient, a curve's SOL holder)."""
    return Keypair.from_seed(hashlib.sha256("|".join(["sandbox-pump", *map(str, parts)]).encode()).digest())


def trade_event_line(
    mint: str,
    sol: int,
    tokens: int,
    is_buy: bool,
    user: Pubkey,
    after: bc.Curve,
    *,
    fee: tuple[Pubkey, int, int] | None = None,
    creator: Pubkey | None = None,
) -> str:
    """A `TradeEvent` as a `Program data:` line: mint, sol and token amounts, side, user, timestamp, the
    reserves after the trade (the first, 129-byte layout every decoder version reads), then with `fee`
    (recipient, bps, lamports) the fee fields and the creator's (0 bps), which the collector prices by
    (pump-fun/pump-public-docs, idl/pump.json: events.TradeEvent; docs/protocols/README.md)."""
    body = (
        pump.TRADE_EVENT_DISCRIMINATOR
        + bytes(Pubkey.from_string(mint))
        + sol.to_bytes(8, "little")
        + tokens.to_bytes(8, "little")
        + bytes([is_buy])
        + bytes(user)
        + int(time.time()).to_bytes(8, "little", signed=True)
        + _u64s(
            after.virtual_sol_reserves,
            after.virtual_token_reserves,
            after.real_sol_reserves,
            after.real_token_reserves,
        )
    )
    if fee is not None:
        recipient, bps, lamports = fee
        body += bytes(recipient) + bps.to_bytes(8, "little") + lamports.to_bytes(8, "little")
        body += bytes(creator or Pubkey.default()) + bytes(16)  # creator, its 0 bps and 0 fee
    return f"Program data: {base64.b64encode(body).decode()}"


def _u64s(*values: int) -> bytes:
    """Borsh u64s, back to back."""
    return b"".join(v.to_bytes(8, "little") for v in values)


def _string(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(4, "little") + raw


def create_event_line(launch: Launch, user: Pubkey, timestamp: int) -> str:
    """The official `CreateEvent` (idl/pump.json events.CreateEvent) through `is_cashback_enabled`: what
    `venues.pumpfun.schemas.CreateEvent` decodes into a `Launch`."""
    body = (
        pump.CREATE_EVENT_DISCRIMINATOR
        + _string(launch.name)
        + _string(launch.symbol)
        + _string(_uri(launch))
        + bytes(Pubkey.from_string(launch.mint))
        + bytes(Pubkey.from_string(launch.bonding_curve))
        + bytes(user)
        + bytes(Pubkey.from_string(launch.creator))
        + timestamp.to_bytes(8, "little", signed=True)
        + _u64s(
            launch.virtual_base_reserve,
            launch.virtual_quote_reserve,
            launch.real_base_reserve,
            launch.total_supply,
        )
        + bytes(TOKEN_PROGRAM_ID)
        + bytes([0, 0])  # not mayhem, no cashback
    )
    return f"Program data: {base64.b64encode(body).decode()}"


def _uri(launch: Launch) -> str:
    return f"https://sandbox.invalid/{launch.symbol}.json"


@dataclass
class SandboxCurve:
    """One coin's curve on the double: its mint, PDA, token vault, SOL holder and reserves."""

    mint: str
    address: Pubkey
    creator: Pubkey
    curve: bc.Curve
    fee_bps: int
    vault: Pubkey
    sol_holder: Keypair

    def account_data(self) -> bytes:
        """The `BondingCurve` account: reserves, supply, complete, creator, then zeros (not mayhem, no
        cashback, quote mint = the default key: SOL)."""
        c = self.curve
        body = _u64s(
            c.virtual_token_reserves,
            c.virtual_sol_reserves,
            c.real_token_reserves,
            c.real_sol_reserves,
            bc.TOKEN_TOTAL_SUPPLY,
        ) + bytes([c.complete])
        return pump.BONDING_CURVE_DISCRIMINATOR + body + bytes(self.creator) + bytes(2) + bytes(32)


class SandboxPump:
    """The Pump.fun program double, over any number of curves."""

    def __init__(self, rpc: SandboxRpc, *, fee_bps: int = FEE_BPS) -> None:
        self.rpc, self.chain, self.fee_bps = rpc, rpc.chain, fee_bps
        self.program = PROGRAM_ID
        self.curves: dict[Pubkey, SandboxCurve] = {}
        self.owners: dict[Pubkey, Keypair] = {}
        self.normal = tuple(_key("fee", i).pubkey() for i in range(3))
        self.recipients = FeeRecipients(self.normal[0], _key("reserved").pubkey(), _key("buyback").pubkey())
        self.last_logs: list[str] = []
        self.trades = 0
        self.launches = 0
        rent = self.rpc.svm.minimum_balance_for_rent_exemption(0)
        # The pool authority pays the inner transactions; each recipient starts rent-exempt, so a fee
        # smaller than the rent can be paid to it.
        for who, lamports in [(self.chain.pool_authority, 10_000 * 10**9)] + [(k, rent) for k in self.normal]:
            if isinstance(self.rpc.svm.airdrop(who, lamports), FailedTransactionMetadata):
                raise ServiceError(f"sandbox pump: airdrop to {who} failed")
        global_data = self.global_data()
        rpc.programs[self.program] = self
        rpc.accounts[str(GLOBAL)] = lambda: (global_data, str(PROGRAM_ID))

    def global_data(self) -> bytes:
        """The `Global` account as far as the fee-recipient lists (unlisted slots: the default key)."""
        data = bytearray(_GLOBAL_LEN)
        data[:8] = GLOBAL_DISCRIMINATOR
        data[8] = 1  # initialized
        placed = [(_FEE_RECIPIENT_AT, self.normal[0]), (_RESERVED_AT, self.recipients.reserved)]
        placed += [(_FEE_RECIPIENTS_AT + 32 * i, key) for i, key in enumerate(self.normal[1:])]
        placed.append((_BUYBACK_AT, self.recipients.buyback))
        for at, key in placed:
            data[at : at + 32] = bytes(key)
        return bytes(data)

    def register(self, owner: Keypair) -> None:
        """An owner whose trades this double may execute (it signs their transfers)."""
        self.owners[owner.pubkey()] = owner

    # -- curves ------------------------------------------------------------------------------------------

    def add_curve(
        self, mint: str, creator: Pubkey, curve: bc.Curve | None = None, *, fee_bps: int | None = None
    ) -> SandboxCurve:
        """The coin's mint at its address, its vault (the curve PDA's associated account, holding the
        real token reserves, the pool authority its delegate: no key signs for a PDA), its SOL holder
        (rent plus the real SOL reserves) and its served account."""
        curve = curve or bc.Curve.initial()
        key = Pubkey.from_string(mint)
        chain, svm = self.chain, self.rpc.svm
        chain.add_token(mint, bc.TOKEN_DECIMALS, address=key)
        address = bonding_curve_pda(key)
        vault = chain.open_account(address, mint, curve.real_token_reserves)
        held = svm.get_account(vault)
        assert held is not None
        data = bytearray(bytes(held.data))
        data[_DELEGATE_AT : _DELEGATE_AT + 36] = (1).to_bytes(4, "little") + bytes(chain.pool_authority)
        data[_DELEGATED_AMOUNT_AT : _DELEGATED_AMOUNT_AT + 8] = (2**64 - 1).to_bytes(8, "little")
        svm.set_account(vault, Account(held.lamports, bytes(data), held.owner, held.executable))
        holder = _key("sol", address)
        lamports = svm.minimum_balance_for_rent_exemption(0) + curve.real_sol_reserves
        if isinstance(svm.airdrop(holder.pubkey(), lamports), FailedTransactionMetadata):
            raise ServiceError(f"sandbox pump: funding the SOL holder of {address} failed")
        entry = SandboxCurve(
            mint, address, creator, curve, self.fee_bps if fee_bps is None else fee_bps, vault, holder
        )
        self.curves[address] = entry
        self.rpc.accounts[str(address)] = lambda: (entry.account_data(), str(PROGRAM_ID))
        return entry

    def create_ix(self, launch: Launch, user: Pubkey) -> Instruction:
        """`create` (name, symbol, uri, creator) with the IDL's 14 accounts; the mint is not a signer here
        (the simulator's mints are hashes: nobody holds their keys)."""
        mint = Pubkey.from_string(launch.mint)
        curve = bonding_curve_pda(mint)
        data = CREATE + _string(launch.name) + _string(launch.symbol) + _string(_uri(launch))
        data += bytes(Pubkey.from_string(launch.creator))
        metas = [
            AccountMeta(mint, False, True),
            AccountMeta(_key("mint-authority").pubkey(), False, False),
            AccountMeta(curve, False, True),
            AccountMeta(associated_token_address(curve, TOKEN_PROGRAM_ID, mint), False, True),
            AccountMeta(GLOBAL, False, False),
            AccountMeta(METADATA_PROGRAM, False, False),
            AccountMeta(_key("metadata", mint).pubkey(), False, True),
            AccountMeta(user, True, True),
            AccountMeta(SYSTEM_PROGRAM_ID, False, False),
            AccountMeta(TOKEN_PROGRAM_ID, False, False),
            AccountMeta(ASSOCIATED_TOKEN_PROGRAM_ID, False, False),
            AccountMeta(RENT_SYSVAR, False, False),
            AccountMeta(EVENT_AUTHORITY, False, False),
            AccountMeta(PROGRAM_ID, False, False),
        ]
        return Instruction(PROGRAM_ID, data, metas)

    def launch(self, launch: Launch, payer: Keypair) -> str:
        """Land `launch`'s create transaction, signed by `payer` (the event's `user`); its signature."""
        self.rpc.height()  # rotates the blockhash when its window ended
        ixs = [self.create_ix(launch, payer.pubkey()), memo_ix(f"launch {launch.mint}")]
        message = MessageV0.try_compile(payer.pubkey(), ixs, [], self.rpc.svm.latest_blockhash())
        return self.rpc.execute(bytes(VersionedTransaction(message, [payer])))

    # -- the program -------------------------------------------------------------------------------------

    def run(self, tx: VersionedTransaction, *, execute: bool) -> tuple[object, int]:
        keys = list(tx.message.account_keys)
        index, ix = next(
            (i, ix)
            for i, ix in enumerate(tx.message.instructions)
            if keys[ix.program_id_index] == self.program
        )
        data, accounts = bytes(ix.data), [keys[i] for i in bytes(ix.accounts)]
        self.last_logs = []
        signers = set(keys[: tx.message.header.num_required_signatures])
        if data[:8] == CREATE:
            err = self._create(tx, data, accounts, signers, execute)
            return (None, CREATE_UNITS) if err is None else ({"InstructionError": [index, err]}, 0)
        if data[:8] not in (BUY, SELL) or len(data) < 24 or len(accounts) < 12:
            return {"InstructionError": [index, "InvalidInstructionData"]}, 0
        owner, payer = self.owners.get(accounts[6]), self.owners.get(keys[0])
        err = self._trade(tx, data, accounts, signers, owner, payer, execute)
        if err is not None:
            if execute and payer is not None:
                self._charge_fee(payer, tx)  # a failed transaction pays its fee too
            return {"InstructionError": [index, err]}, 0
        return None, TRADE_UNITS

    def logs(self) -> list[str]:
        """The event `run` last executed."""
        return self.last_logs

    def _create(
        self,
        tx: VersionedTransaction,
        data: bytes,
        accounts: list[Pubkey],
        signers: set[Pubkey],
        execute: bool,
    ) -> object:
        try:
            name, at = _read_string(data, 8)
            symbol, at = _read_string(data, at)
            _uri_text, at = _read_string(data, at)
            creator = Pubkey.from_bytes(data[at : at + 32])
        except ValueError:
            return "InvalidInstructionData"
        mint, curve, user = accounts[0], accounts[2], accounts[7]
        if curve != bonding_curve_pda(mint):
            return {"Custom": CONSTRAINT_SEEDS}
        if curve in self.curves or self.rpc.svm.get_account(mint) is not None:
            return {"Custom": ALREADY_IN_USE}
        if user not in signers:
            return "MissingRequiredSignature"
        if execute:
            entry = self.add_curve(str(mint), creator)
            c = entry.curve
            launch = Launch(
                mint=str(mint), bonding_curve=str(curve), name=name, symbol=symbol, creator=str(creator),
                virtual_base_reserve=c.virtual_token_reserves, virtual_quote_reserve=c.virtual_sol_reserves,
                real_base_reserve=c.real_token_reserves, total_supply=bc.TOKEN_TOTAL_SUPPLY,
                slot=0, ts_ms=0, received_ms=0, signature=str(tx.signatures[0]),
            )  # fmt: skip
            self.last_logs = [create_event_line(launch, user, int(time.time()))]
            self.launches += 1
        return None

    def _trade(
        self,
        tx: VersionedTransaction,
        data: bytes,
        accounts: list[Pubkey],
        signers: set[Pubkey],
        owner: Keypair | None,
        payer: Keypair | None,
        execute: bool,
    ) -> object:
        """None when the trade is (or would be) executed, else the instruction's error."""
        entry = self.curves.get(accounts[3])
        if entry is None or accounts[2] != Pubkey.from_string(entry.mint) or accounts[4] != entry.vault:
            return {"Custom": CONSTRAINT_SEEDS}
        user = accounts[6]
        if accounts[5] != associated_token_address(user, TOKEN_PROGRAM_ID, accounts[2]):
            return {"Custom": CONSTRAINT_SEEDS}
        if user not in signers:
            return "MissingRequiredSignature"
        if owner is None or payer is None:  # a key the sandbox does not hold: it cannot sign the transfers
            return "InvalidAccountData"
        if accounts[1] not in self.normal:
            return {"Custom": NOT_AUTHORIZED}
        if entry.curve.complete:
            return {"Custom": CURVE_COMPLETE}
        amount, bound = int.from_bytes(data[8:16], "little"), int.from_bytes(data[16:24], "little")
        svm, outer_fee = self.rpc.svm, fee_of(tx)
        rent = svm.minimum_balance_for_rent_exemption(0)
        needs = {payer.pubkey(): outer_fee}  # the fee payer's fee, then a buyer's SOL: each keeps its rent
        if data[:8] == BUY:
            tokens, cost, fee = bc.buy_cost(entry.curve, amount, entry.fee_bps)
            if tokens <= 0:
                return {"Custom": CURVE_COMPLETE}
            if cost + fee > bound:
                return {"Custom": TOO_MUCH_SOL_REQUIRED}
            needs[user] = needs.get(user, 0) + cost + fee
            sol, after = cost, bc.apply_buy(entry.curve, tokens, cost)
        else:
            tokens = amount
            gross, fee = bc.sell_proceeds(entry.curve, amount, entry.fee_bps)
            if gross - fee < bound:
                return {"Custom": TOO_LITTLE_SOL_RECEIVED}
            held = svm.get_account(accounts[5])
            holder = _lamports(svm.get_account(entry.sol_holder.pubkey()))
            if tokens <= 0 or token_amount(held) < tokens or holder - rent < gross:
                return {"Custom": INSUFFICIENT_FUNDS}
            sol, after = gross, bc.apply_sell(entry.curve, amount, gross)
        if any(_lamports(svm.get_account(key)) < need + rent for key, need in needs.items()):
            return {"Custom": INSUFFICIENT_FUNDS}
        if execute:
            buy = data[:8] == BUY
            signature = str(tx.signatures[0])
            self._move(entry, owner, payer, accounts[1], buy, tokens, sol, fee, outer_fee, signature)
            entry.curve = after
            self.last_logs = [
                trade_event_line(
                    entry.mint, sol, tokens, buy, user, after,
                    fee=(accounts[1], entry.fee_bps, fee), creator=entry.creator,
                )
            ]  # fmt: skip
            self.trades += 1
        return None

    def _move(
        self,
        entry: SandboxCurve,
        owner: Keypair,
        payer: Keypair,
        recipient: Pubkey,
        buy: bool,
        tokens: int,
        sol: int,
        fee: int,
        outer_fee: int,
        signature: str,
    ) -> None:
        """One inner transaction, paid by the pool authority: the trade's lamports and tokens, and the
        outer transaction's fee charged to its fee payer (the user, as a rule)."""
        chain, user = self.chain, owner.pubkey()
        user_account = chain.open_account(user, entry.mint)
        holder = entry.sol_holder.pubkey()
        mint, authority = Pubkey.from_string(entry.mint), chain.pool_authority
        if buy:
            ixs = [
                _transfer(user, holder, sol),
                _transfer(user, recipient, fee),
                transfer_checked_ix(entry.vault, mint, user_account, authority, tokens, bc.TOKEN_DECIMALS),
            ]
        else:
            ixs = [
                transfer_checked_ix(user_account, mint, entry.vault, user, tokens, bc.TOKEN_DECIMALS),
                _transfer(holder, user, sol - fee),
                _transfer(holder, recipient, fee),
            ]
        ixs += [_transfer(payer.pubkey(), authority, outer_fee), memo_ix(signature)]
        self._send(ixs, [owner, payer] if buy else [owner, payer, entry.sol_holder], "trade")

    def _charge_fee(self, payer: Keypair, tx: VersionedTransaction) -> None:
        """The fee of a transaction that failed, charged to its fee payer if it can pay it."""
        svm, fee = self.rpc.svm, fee_of(tx)
        if _lamports(svm.get_account(payer.pubkey())) < fee + svm.minimum_balance_for_rent_exemption(0):
            return
        ixs = [
            _transfer(payer.pubkey(), self.chain.pool_authority, fee),
            memo_ix(str(tx.signatures[0])),
        ]
        self._send(ixs, [payer], "fee")

    def _send(self, ixs: list[Instruction], signers: list[Keypair], what: str) -> None:
        chain = self.chain
        message = MessageV0.try_compile(chain.pool_authority, ixs, [], self.rpc.svm.latest_blockhash())
        signed: dict[Pubkey, Signature] = {chain.pool_authority: chain.pool_signature(message)}
        for key in signers:
            signed[key.pubkey()] = key.sign_message(to_bytes_versioned(message))
        needed = message.account_keys[: message.header.num_required_signatures]
        result = self.rpc.svm.send_transaction(
            VersionedTransaction.populate(message, [signed[k] for k in needed])
        )
        if isinstance(result, FailedTransactionMetadata):  # balances were checked: the setup is wrong
            raise ServiceError(f"sandbox pump {what} failed: {result.err()}")


def _transfer(source: Pubkey, dest: Pubkey, lamports: int) -> Instruction:
    return transfer(TransferParams(from_pubkey=source, to_pubkey=dest, lamports=lamports))


def _lamports(account: Account | None) -> int:
    return 0 if account is None else account.lamports


def _read_string(data: bytes, at: int) -> tuple[str, int]:
    """A Borsh string at `at`: (text, the offset after it)."""
    if at + 4 > len(data):
        raise ValueError("string length past the end")
    size = int.from_bytes(data[at : at + 4], "little")
    end = at + 4 + size
    if end > len(data):
        raise ValueError("string past the end")
    return data[at + 4 : end].decode(), end
