"""A local Solana chain (LiteSVM) on which every paper fill settles as a real, signed SPL transaction.

Why: a paper ledger that only agrees with itself proves little. Settling each fill as a transaction
that the real SPL token program must accept (owners sign, balances cannot go negative, decimals are
checked) gives an independent ledger to reconcile the database against, and exercises the signing
path a live venue will use.

Model. Every mint the bot trades gets a fresh SPL mint on the chain with the same decimals; the bot's
mint address maps to it (`mint_address`). Fresh addresses because the chain cannot sign for the real
mints, and WSOL in particular must be a plain SPL mint here: the token program treats the native mint
specially (no `mint_to`, balances are lamports), so paper SOL is an ordinary token with 9 decimals.
A mint may instead live at its own address (`add_token(..., address=...)`): the sandbox's Pump.fun coins,
whose curve and token accounts are derived from the real mint; the chain writes that mint's account itself.
The wallet holds one associated token account per mint. A mint is an SPL Token mint unless it was
added with the Token-2022 program (`add_token(..., program=TOKEN_2022_PROGRAM_ID)`): its accounts,
vaults and instructions then go to that program (plain Token-2022, no extensions).
Each pool (`PoolState.pool`) has two vault token accounts owned by one pool-authority keypair, funded
to the pool's reserves when first used.

A settlement is ONE transaction with two signers: the wallet (fee payer) moves its input tokens to the
pool's input vault and the pool authority moves the output tokens from the output vault to the wallet,
both with `transfer_checked`, plus a memo carrying the order id (so two orders with equal amounts
never produce byte-identical transactions, and the chain records which order a transfer settled).
Amounts are exactly the fill's (`market.fills.mint_flows`). Orders are settled at most once: the map
order id → signature answers a repeated `settle` without sending (an execution batch rolled back after
settling re-runs the same deterministic fill).

The pool vaults stand for the whole market's liquidity, which other traders move too: when an output
vault holds less than a fill pays out, it is first topped up to the order's pool reserve by a separate
mint transaction (logged), so the chain never refuses a fill the market could pay.

Lamports (fees, rent) are the chain's own business: the wallet's SOL for fees is not a trading balance,
and `balances()` reports token accounts only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import CreateAccountParams, create_account
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata
from spl.token.constants import ACCOUNT_LEN, MINT_LEN, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from spl.token.instructions import (
    approve,
    burn,
    create_associated_token_account,
    get_associated_token_address,
    initialize_account3,
    initialize_mint,
    mint_to,
)
from spl.token.models import (
    ApproveParams,
    BurnParams,
    InitializeAccount3Params,
    InitializeMintParams,
    MintToParams,
)

from core.errors import SolbotError, VenueError, VenueRejected
from market.fills import FILLED, input_mint, mint_flows
from market.tokens import DECIMALS
from streams.records import Fill, Order, PoolState

log = logging.getLogger(__name__)

MEMO_PROGRAM_ID = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
LAMPORTS_PER_SOL = 1_000_000_000
_TRANSFER_CHECKED = 12  # SPL token instruction index
_AMOUNT_OFFSET = 64  # token account layout: mint (32), owner (32), amount (u64 LE)
_MAX_U64 = 2**64 - 1
_SYNC_IX_PER_TX = 8  # mint/burn instructions per sync transaction (two new keys each)


TOKEN_PROGRAMS = (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID)


class ChainError(SolbotError):
    """The local chain could not be set up as asked (unknown mint, conflicting decimals, setup failed)."""


class SettlementFailed(VenueError):
    """The SVM refused a settlement transaction; `err` is its error and `logs` the program logs."""

    def __init__(self, message: str, err: object = None, logs: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.err = err
        self.logs = list(logs)


class SettlementConflict(VenueError):
    """An order already settled was presented again with different amounts: the ledgers would diverge."""


@dataclass(frozen=True, slots=True)
class _Mint:
    address: Pubkey
    decimals: int
    program: Pubkey = TOKEN_PROGRAM_ID


@dataclass(frozen=True, slots=True)
class _Settled:
    signature: str
    flows: dict[str, int]


def transfer_checked_ix(
    source: Pubkey,
    mint: Pubkey,
    dest: Pubkey,
    owner: Pubkey,
    amount: int,
    decimals: int,
    program: Pubkey = TOKEN_PROGRAM_ID,
) -> Instruction:
    """SPL `TransferChecked`, encoded directly: it is the hot path, and the layout is three fields.
    Token-2022 has the same instruction (index and accounts) under its own program id."""
    data = bytes([_TRANSFER_CHECKED]) + amount.to_bytes(8, "little") + bytes([decimals])
    return Instruction(
        program,
        data,
        [
            AccountMeta(source, is_signer=False, is_writable=True),
            AccountMeta(mint, is_signer=False, is_writable=False),
            AccountMeta(dest, is_signer=False, is_writable=True),
            AccountMeta(owner, is_signer=True, is_writable=False),
        ],
    )


def memo_ix(text: str) -> Instruction:
    return Instruction(MEMO_PROGRAM_ID, text.encode("utf-8"), [])


def token_amount(account: Account | None) -> int:
    """The raw amount held by an SPL token account (0 if it does not exist)."""
    if account is None:
        return 0
    data = bytes(account.data)
    if len(data) < ACCOUNT_LEN or account.owner not in TOKEN_PROGRAMS:
        raise ChainError("not an SPL token account")
    return int.from_bytes(data[_AMOUNT_OFFSET : _AMOUNT_OFFSET + 8], "little")


class LocalChain:
    """An in-process Solana VM holding the wallet, the mints and the pools' vaults; settles fills."""

    def __init__(
        self,
        tokens: Mapping[str, int] | None = None,
        wallet: Keypair | None = None,
        *,
        wallet_lamports: int = 100 * LAMPORTS_PER_SOL,
    ) -> None:
        """`tokens` maps the bot's mint addresses to decimals (default: the well-known mints)."""
        self._svm = LiteSVM()
        self._operator = Keypair()  # pays rent for setup and is every mint's authority
        self._pool_authority = Keypair()
        self._wallet = wallet if wallet is not None else Keypair()
        # Keypair.pubkey() re-derives the point from the secret (~0.1 ms): derive each key once.
        self._operator_pk = self._operator.pubkey()
        self._pool_authority_pk = self._pool_authority.pubkey()
        self._wallet_pk = self._wallet.pubkey()
        self._mints: dict[str, _Mint] = {}
        self._wallet_accounts: dict[str, Pubkey] = {}
        self._vaults: dict[tuple[str, str], Pubkey] = {}
        self._settled: dict[str, _Settled] = {}
        self.transactions_sent = 0
        self.top_ups = 0
        for who, lamports in (
            (self._operator_pk, 10_000 * LAMPORTS_PER_SOL),
            (self._wallet_pk, wallet_lamports),
        ):
            if isinstance(self._svm.airdrop(who, lamports), FailedTransactionMetadata):
                raise ChainError(f"airdrop to {who} failed")
        for mint, decimals in (DECIMALS if tokens is None else tokens).items():
            self.add_token(mint, decimals)

    def __repr__(self) -> str:  # never the keypairs: str(Keypair) is its secret key
        return f"LocalChain(wallet={self._wallet_pk}, mints={len(self._mints)}, pools={self.pools})"

    # -- read side -----------------------------------------------------------------------------------------

    @property
    def svm(self) -> LiteSVM:
        """The VM itself, for inspection (tests, reconciliation); settle through `settle` only."""
        return self._svm

    @property
    def wallet(self) -> Pubkey:
        return self._wallet_pk

    @property
    def pool_authority(self) -> Pubkey:
        return self._pool_authority_pk

    @property
    def pools(self) -> int:
        return len({pool for pool, _ in self._vaults})

    def mints(self) -> dict[str, Pubkey]:
        """The bot's mint address → the SPL mint standing for it on this chain."""
        return {mint: m.address for mint, m in self._mints.items()}

    def mint_address(self, mint: str) -> Pubkey:
        try:
            return self._mints[mint].address
        except KeyError:
            raise ChainError(f"mint {mint} is not on the local chain") from None

    def token_program(self, mint: str) -> Pubkey:
        """The program that owns `mint` on this chain: SPL Token or Token-2022."""
        self.mint_address(mint)
        return self._mints[mint].program

    def decimals(self, mint: str) -> int:
        self.mint_address(mint)
        return self._mints[mint].decimals

    def wallet_account(self, mint: str) -> Pubkey:
        """The wallet's associated token account for `mint`."""
        self.mint_address(mint)
        return self._wallet_accounts[mint]

    def vault(self, pool: str, mint: str) -> Pubkey:
        try:
            return self._vaults[(pool, mint)]
        except KeyError:
            raise ChainError(f"pool {pool} has no vault for {mint} yet") from None

    def balances(self) -> dict[str, int]:
        """The wallet's token balances by the bot's mint address, read from the chain's accounts."""
        return {
            mint: token_amount(self._svm.get_account(acct)) for mint, acct in self._wallet_accounts.items()
        }

    def vault_balances(self, pool: str) -> dict[str, int]:
        return {
            mint: token_amount(self._svm.get_account(acct))
            for (p, mint), acct in self._vaults.items()
            if p == pool
        }

    def signature_of(self, order_id: str) -> str | None:
        """The signature that settled `order_id`, if it was settled."""
        settled = self._settled.get(order_id)
        return settled.signature if settled else None

    # -- setup ---------------------------------------------------------------------------------------------

    def add_token(
        self, mint: str, decimals: int, *, program: Pubkey | None = None, address: Pubkey | None = None
    ) -> Pubkey:
        """Create the mint standing for `mint` (SPL Token, or `program`: Token-2022) and the wallet's
        token account, once; returns the mint. With `address` the mint lives at that address instead of
        a fresh key's (a Pump.fun coin, whose curve and accounts are derived from its real mint): the
        sandbox writes the account directly, as no key signs for it."""
        known = self._mints.get(mint)
        if known is not None:
            if known.decimals != decimals:
                raise ChainError(f"mint {mint} has {known.decimals} decimals on chain, not {decimals}")
            if program is not None and program != known.program:
                raise ChainError(f"mint {mint} is owned by {known.program} on chain, not {program}")
            if address is not None and address != known.address:
                raise ChainError(f"mint {mint} lives at {known.address} on chain, not {address}")
            return known.address
        program = TOKEN_PROGRAM_ID if program is None else program
        if program not in TOKEN_PROGRAMS:
            raise ChainError(f"mint {mint}: {program} is not a token program")
        if not 0 <= decimals <= 255:
            raise ChainError(f"mint {mint}: decimals must be 0..255, not {decimals}")
        if address is not None:
            self._write_mint(mint, address, decimals, program)
            return address
        mint_kp = Keypair()
        operator = self._operator_pk
        self._send(
            [
                create_account(
                    CreateAccountParams(
                        from_pubkey=operator,
                        to_pubkey=mint_kp.pubkey(),
                        lamports=self._svm.minimum_balance_for_rent_exemption(MINT_LEN),
                        space=MINT_LEN,
                        owner=program,
                    )
                ),
                initialize_mint(
                    InitializeMintParams(
                        decimals=decimals,
                        program_id=program,
                        mint=mint_kp.pubkey(),
                        mint_authority=operator,
                    )
                ),
                create_associated_token_account(operator, self.wallet, mint_kp.pubkey(), program),
            ],
            [self._operator, mint_kp],
            f"create mint for {mint}",
        )
        self._mints[mint] = _Mint(mint_kp.pubkey(), decimals, program)
        self._wallet_accounts[mint] = get_associated_token_address(self.wallet, mint_kp.pubkey(), program)
        log.debug("local chain: mint %s → %s (%d decimals)", mint, mint_kp.pubkey(), decimals)
        return mint_kp.pubkey()

    def _write_mint(self, mint: str, address: Pubkey, decimals: int, program: Pubkey) -> None:
        """An initialized 82-byte mint at `address` (the operator its mint authority, no supply, no
        freeze authority), then the wallet's associated token account for it."""
        if self._svm.get_account(address) is not None:
            raise ChainError(f"mint {mint}: an account already lives at {address}")
        data = (
            (1).to_bytes(4, "little")
            + bytes(self._operator_pk)
            + bytes(8)
            + bytes([decimals, 1])
            + bytes(4 + 32)
        )
        rent = self._svm.minimum_balance_for_rent_exemption(MINT_LEN)
        self._svm.set_account(address, Account(lamports=rent, data=data, owner=program, executable=False))
        self._send(
            [create_associated_token_account(self._operator_pk, self.wallet, address, program)],
            [self._operator],
            f"open wallet account of {mint}",
        )
        self._mints[mint] = _Mint(address, decimals, program)
        self._wallet_accounts[mint] = get_associated_token_address(self.wallet, address, program)
        log.debug("local chain: mint %s at its own address (%d decimals)", mint, decimals)

    def fund_wallet(self, balances: Mapping[str, int]) -> None:
        """Mint these raw amounts into the wallet (added to what it holds), in one transaction."""
        amounts = {mint: amount for mint, amount in balances.items() if amount}
        if any(amount < 0 for amount in amounts.values()):
            raise ChainError("funding amounts must be >= 0")
        if amounts:
            self._send(
                [
                    self._mint_to_ix(mint, self.wallet_account(mint), amount)
                    for mint, amount in amounts.items()
                ],
                [self._operator],
                "fund wallet",
            )

    def open_account(self, owner: Pubkey, mint: str, amount: int = 0) -> Pubkey:
        """`owner`'s associated token account for `mint` (under the mint's program), created once and
        credited `amount`: how the sandbox funds its simulated traders."""
        program = self.token_program(mint)
        account = get_associated_token_address(owner, self.mint_address(mint), program)
        ixs: list[Instruction] = []
        if self._svm.get_account(account) is None:
            ixs.append(
                create_associated_token_account(self._operator_pk, owner, self.mint_address(mint), program)
            )
        if amount:
            ixs.append(self._mint_to_ix(mint, account, amount))
        if ixs:
            self._send(ixs, [self._operator], f"open {mint} account of {owner}")
        return account

    def pool_signature(self, message: MessageV0) -> Signature:
        """The pool authority's signature of `message`: the pool side of a swap the sandbox co-signs
        (the authority's key never leaves this object)."""
        return self._pool_authority.sign_message(to_bytes_versioned(message))

    def sync_wallet(self, target: Mapping[str, int], decimals: Mapping[str, int]) -> dict[str, int]:
        """Make the wallet hold exactly `target` (mint up, burn down, in one transaction); the changes made.

        Why: the chain is process memory, the database is the record. A worker that (re)starts, takes
        over the orders partition, or rolled back a batch after settling it brings the chain back to the
        database's balances. Settlements remembered before are forgotten: an order whose batch did not
        commit will run again and must move tokens again, and committed orders never run again.
        `decimals` names mints not yet on the chain; a mint the wallet holds but `target` omits goes to 0.
        """
        for mint, amount in target.items():
            if amount < 0 or amount > _MAX_U64:
                raise ChainError(f"target balance of {mint} out of range: {amount}")
            if mint not in self._mints:
                if mint not in decimals:
                    raise ChainError(f"mint {mint} has no known decimals")
                self.add_token(mint, decimals[mint])
        held = self.balances()
        changes = {
            mint: target.get(mint, 0) - held.get(mint, 0)
            for mint in set(held) | set(target)
            if target.get(mint, 0) != held.get(mint, 0)
        }
        mints_up: list[Instruction] = []
        burns: list[Instruction] = []
        for mint, delta in sorted(changes.items()):
            if delta > 0:
                mints_up.append(self._mint_to_ix(mint, self.wallet_account(mint), delta))
            else:
                burns.append(
                    burn(
                        BurnParams(
                            program_id=self.token_program(mint),
                            account=self.wallet_account(mint),
                            mint=self.mint_address(mint),
                            owner=self._wallet_pk,
                            amount=-delta,
                        )
                    )
                )
        # A fresh blockhash: a settlement re-sent after this must not be the byte-identical old one.
        self._svm.expire_blockhash()
        for instructions, signers in ((mints_up, [self._operator]), (burns, [self._operator, self._wallet])):
            for start in range(0, len(instructions), _SYNC_IX_PER_TX):  # a transaction holds 1,232 bytes
                self._send(instructions[start : start + _SYNC_IX_PER_TX], signers, "sync wallet")
        self._settled.clear()
        return changes

    def ensure_pool(self, state: PoolState) -> None:
        """Create the pool's mints and vaults on first use, funded to its reserves."""
        self.add_token(state.base_mint, state.base_decimals)
        self.add_token(state.quote_mint, state.quote_decimals)
        if (state.pool, state.base_mint) in self._vaults:
            return
        base_funding = state.real_base_reserve if state.real_base_reserve > 0 else state.base_reserve
        rent = self._svm.minimum_balance_for_rent_exemption(ACCOUNT_LEN)
        operator = self._operator_pk
        instructions: list[Instruction] = []
        signers = [self._operator]
        vaults: dict[str, Pubkey] = {}
        for mint, funding in ((state.base_mint, base_funding), (state.quote_mint, state.quote_reserve)):
            vault_kp = Keypair()
            vaults[mint] = vault_kp.pubkey()
            signers.append(vault_kp)
            instructions += [
                create_account(
                    CreateAccountParams(
                        from_pubkey=operator,
                        to_pubkey=vault_kp.pubkey(),
                        lamports=rent,
                        space=ACCOUNT_LEN,
                        owner=self.token_program(mint),
                    )
                ),
                initialize_account3(
                    InitializeAccount3Params(
                        program_id=self.token_program(mint),
                        account=vault_kp.pubkey(),
                        mint=self.mint_address(mint),
                        owner=self.pool_authority,
                    )
                ),
            ]
            if funding > 0:
                instructions.append(self._mint_to_ix(mint, vault_kp.pubkey(), min(funding, _MAX_U64)))
        self._send(instructions, signers, f"create vaults of pool {state.pool}")
        for mint, vault in vaults.items():
            self._vaults[(state.pool, mint)] = vault
        log.debug("local chain: pool %s vaults %s", state.pool, vaults)

    def delegate_vault(self, pool: str, mint: str, delegate: Pubkey, amount: int = _MAX_U64) -> None:
        """Let `delegate` move up to `amount` out of a pool vault with its own signature alone.

        Why: a swap transaction a venue (or a test double of one) builds for the wallet must be signed by
        the wallet only, as a real DEX program moves vault tokens by PDA; a delegate stands in for that.
        """
        self._send(
            [
                approve(
                    ApproveParams(
                        program_id=self.token_program(mint),
                        source=self.vault(pool, mint),
                        delegate=delegate,
                        owner=self._pool_authority_pk,
                        amount=amount,
                    )
                )
            ],
            [self._operator, self._pool_authority],
            f"delegate vault {pool}/{mint}",
        )

    # -- settlement ----------------------------------------------------------------------------------------

    def settle(self, order: Order, fill: Fill) -> str:
        """Move the fill's exact amounts in one transaction signed by wallet and pool; its signature."""
        if fill.order_id != order.id or fill.status != FILLED:
            raise VenueRejected(f"order {order.id}: only its own filled fill can settle ({fill.status})")
        flows = mint_flows(order, fill)
        done = self._settled.get(order.id)
        if done is not None:
            if done.flows != flows:
                raise SettlementConflict(
                    f"order {order.id} settled as {done.flows}, now presented as {flows}"
                )
            log.info("order %s already settled in %s; not sent again", order.id, done.signature)
            return done.signature
        state = order.pool_state
        try:
            self.ensure_pool(state)
        except ChainError as exc:
            raise VenueRejected(f"order {order.id}: {exc}") from exc
        spent = input_mint(order)
        received = state.base_mint if spent == state.quote_mint else state.quote_mint
        amount_in, amount_out = -flows[spent], flows[received]
        if not (0 <= amount_in <= _MAX_U64 and 0 <= amount_out <= _MAX_U64):
            raise VenueRejected(f"order {order.id}: amounts out of u64 range")
        out_vault = self.vault(state.pool, received)
        held = token_amount(self._svm.get_account(out_vault))
        if held < amount_out:
            reserve = state.base_reserve if received == state.base_mint else state.quote_reserve
            top_up = max(reserve, amount_out) - held
            log.info("order %s: pool %s vault short of %s by %d; topping up %d", order.id, state.pool,
                     received, amount_out - held, top_up)  # fmt: skip
            self._send(
                [self._mint_to_ix(received, out_vault, top_up)], [self._operator], f"top up {state.pool}"
            )
            self.top_ups += 1
        instructions = [
            memo_ix(order.id),
            transfer_checked_ix(
                self.wallet_account(spent),
                self.mint_address(spent),
                self.vault(state.pool, spent),
                self.wallet,
                amount_in,
                self._mints[spent].decimals,
                self.token_program(spent),
            ),
            transfer_checked_ix(
                out_vault,
                self.mint_address(received),
                self.wallet_account(received),
                self.pool_authority,
                amount_out,
                self._mints[received].decimals,
                self.token_program(received),
            ),
        ]
        signature = self._send(
            instructions, [self._wallet, self._pool_authority], f"order {order.id}", payer=self._wallet
        )
        self._settled[order.id] = _Settled(signature, flows)
        return signature

    # -- internals -----------------------------------------------------------------------------------------

    def _mint_to_ix(self, mint: str, dest: Pubkey, amount: int) -> Instruction:
        return mint_to(
            MintToParams(
                program_id=self.token_program(mint),
                mint=self.mint_address(mint),
                dest=dest,
                mint_authority=self._operator_pk,
                amount=amount,
            )
        )

    def _send(
        self,
        instructions: Iterable[Instruction],
        signers: Sequence[Keypair],
        what: str,
        payer: Keypair | None = None,
    ) -> str:
        """Sign, send and return the base58 signature; a refused transaction raises `SettlementFailed`."""
        fee_payer = self._wallet_pk if payer is self._wallet else self._operator_pk
        message = MessageV0.try_compile(fee_payer, list(instructions), [], self._svm.latest_blockhash())
        tx = VersionedTransaction(message, signers)
        result = self._svm.send_transaction(tx)
        if isinstance(result, FailedTransactionMetadata):
            # A retry must not be the byte-identical (hence already-processed) transaction.
            self._svm.expire_blockhash()
            logs = list(result.meta().logs())
            err = result.err()
            raise SettlementFailed(f"{what}: transaction failed: {err}; logs: {logs[-3:]}", err, logs)
        self.transactions_sent += 1
        return str(tx.signatures[0])
