"""Pump.fun bonding-curve venue: legacy `buy` / `sell` instructions built from the program's published layout.

Layouts, accounts, PDAs and quote maths are PROTOCOLS.md §1 (legacy path; the docs say it keeps working,
and the note there about extra remaining accounts is unverified: re-check against a mainnet transaction
before trading live). Amounts come from the curve as read from the chain just before signing, never from
the order's (older) pool state; fees come from the order's pool state (`fee_bps`), never hard-coded.

Slippage. `buy` is exact-tokens-out with a SOL ceiling: the venue quotes the tokens that the order's SOL
budget less the slippage slack buys now, asks for exactly those, and sets `max_sol_cost` to the whole
budget (`amount_in`), so the wallet never pays more than the order allowed and the slack absorbs the
curve moving. `sell` is exact-tokens-in with `min_sol_output` = the quote less the slack, never below
the order's own `min_amount_out`. A quote that already misses the order's bound is a slippage failure
(`prepare` returns None) and nothing is signed.

`PumpFunVenue` is a `venues.interface.Venue` settled through the life cycle: `prepare` reads the curve,
builds, runs the shared preflight (`venues.preflight`: simulate for the compute units, budget) and signs;
`broadcast` sends the stored bytes. `venues.lifecycle.OrderLifecycle` drives it exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import create_idempotent_associated_token_account, get_associated_token_address

from chain.local import memo_ix
from chain.rpc import RpcClient
from core.errors import VenueRejected
from market import bonding_curve as bc
from market.fills import SLIPPAGE
from market.venues import VenueName
from streams.records import Order
from venues.fees import PriorityFeePolicy, budgeted_transaction, transaction_base64
from venues.interface import PreparedTx, Refused, TransactionVenue, validate_order
from venues.preflight import preflight
from venues.pumpfun import schemas
from venues.pumpfun.config import PumpFunConfig
from venues.pumpfun.schemas import BondingCurveAccount

PROGRAM_ID = Pubkey.from_string(schemas.PROGRAM_ID)
GLOBAL = Pubkey.from_string("4wTV1YmiEkRvAtNtsSGPtUrqRYQMe5SKy2uB4Jjaxnjf")
EVENT_AUTHORITY = Pubkey.from_string("Ce6TQqeHC9p8KetsN6JsjHK7UTZk7nasjjnr7XxXp9F1")
FEE_CONFIG = Pubkey.from_string("8Wf5TiAheLUqBrKXeYg2JtAFFMWtKdG2BSFgqUcPVwTt")
FEE_PROGRAM_ID = Pubkey.from_string("pfeeUxB6jkeY1Hxd7CsFCAjcbHA9rWtchMGdZ6VojVZ")
SYSTEM_PROGRAM_ID = Pubkey.from_string("11111111111111111111111111111111")

BUY_DISCRIMINATOR = bytes([102, 6, 61, 18, 1, 218, 235, 234])
SELL_DISCRIMINATOR = bytes([51, 230, 133, 164, 1, 127, 131, 173])


def bonding_curve_pda(mint: Pubkey) -> Pubkey:
    return Pubkey.find_program_address([b"bonding-curve", bytes(mint)], PROGRAM_ID)[0]


def creator_vault_pda(creator: Pubkey) -> Pubkey:
    return Pubkey.find_program_address([b"creator-vault", bytes(creator)], PROGRAM_ID)[0]


def global_volume_accumulator_pda() -> Pubkey:
    return Pubkey.find_program_address([b"global_volume_accumulator"], PROGRAM_ID)[0]


def user_volume_accumulator_pda(user: Pubkey) -> Pubkey:
    return Pubkey.find_program_address([b"user_volume_accumulator", bytes(user)], PROGRAM_ID)[0]


@dataclass(frozen=True, slots=True)
class TradeAccounts:
    """The accounts a buy or sell names, derived from the mint, the user and the curve's creator."""

    mint: Pubkey
    user: Pubkey
    creator: Pubkey
    fee_recipient: Pubkey
    token_program: Pubkey = TOKEN_PROGRAM_ID

    @property
    def bonding_curve(self) -> Pubkey:
        return bonding_curve_pda(self.mint)

    @property
    def associated_bonding_curve(self) -> Pubkey:
        return get_associated_token_address(self.bonding_curve, self.mint, self.token_program)

    @property
    def associated_user(self) -> Pubkey:
        return get_associated_token_address(self.user, self.mint, self.token_program)


def _w(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, is_signer=False, is_writable=True)


def _r(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, is_signer=False, is_writable=False)


def _check_u64(name: str, value: int) -> None:
    if not 0 <= value <= 2**64 - 1:
        raise VenueRejected(f"{name} must fit a u64, not {value}")


def buy_instruction(
    accounts: TradeAccounts, amount: int, max_sol_cost: int, track_volume: bool = False
) -> Instruction:
    """`buy`: disc + amount (tokens out) + max_sol_cost + track_volume (OptionBool); 16 accounts."""
    _check_u64("amount", amount)
    _check_u64("max_sol_cost", max_sol_cost)
    data = (
        BUY_DISCRIMINATOR
        + amount.to_bytes(8, "little")
        + max_sol_cost.to_bytes(8, "little")
        + bytes([1 if track_volume else 0])
    )
    metas = [
        _r(GLOBAL),
        _w(accounts.fee_recipient),
        _r(accounts.mint),
        _w(accounts.bonding_curve),
        _w(accounts.associated_bonding_curve),
        _w(accounts.associated_user),
        AccountMeta(accounts.user, is_signer=True, is_writable=True),
        _r(SYSTEM_PROGRAM_ID),
        _r(accounts.token_program),
        _w(creator_vault_pda(accounts.creator)),
        _r(EVENT_AUTHORITY),
        _r(PROGRAM_ID),
        _w(global_volume_accumulator_pda()),
        _w(user_volume_accumulator_pda(accounts.user)),
        _r(FEE_CONFIG),
        _r(FEE_PROGRAM_ID),
    ]
    return Instruction(PROGRAM_ID, data, metas)


def sell_instruction(accounts: TradeAccounts, amount: int, min_sol_output: int) -> Instruction:
    """`sell`: disc + amount (tokens in) + min_sol_output; 14 accounts, creator_vault before token_program."""
    _check_u64("amount", amount)
    _check_u64("min_sol_output", min_sol_output)
    data = SELL_DISCRIMINATOR + amount.to_bytes(8, "little") + min_sol_output.to_bytes(8, "little")
    metas = [
        _r(GLOBAL),
        _w(accounts.fee_recipient),
        _r(accounts.mint),
        _w(accounts.bonding_curve),
        _w(accounts.associated_bonding_curve),
        _w(accounts.associated_user),
        AccountMeta(accounts.user, is_signer=True, is_writable=True),
        _r(SYSTEM_PROGRAM_ID),
        _w(creator_vault_pda(accounts.creator)),
        _r(accounts.token_program),
        _r(EVENT_AUTHORITY),
        _r(PROGRAM_ID),
        _r(FEE_CONFIG),
        _r(FEE_PROGRAM_ID),
    ]
    return Instruction(PROGRAM_ID, data, metas)


@dataclass(frozen=True, slots=True)
class CurveQuote:
    """What the instruction will ask for, and what the fill is expected to move (raw units)."""

    amount: int  # tokens out (buy) or in (sell): the instruction's `amount`
    sol_bound: int  # max_sol_cost (buy) or min_sol_output (sell)
    expected_in: int  # SOL paid incl. fee (buy) or tokens sold (sell)
    expected_out: int  # tokens bought (buy) or SOL received after fee (sell)


def quote_buy(curve: bc.Curve, sol_budget: int, fee_bps: int, slippage_bps: int) -> CurveQuote:
    """Tokens the budget less the slack buys now; `max_sol_cost` is the whole budget."""
    if curve.complete or curve.real_token_reserves <= 0:
        return CurveQuote(0, sol_budget, 0, 0)
    spend = sol_budget * 10_000 // (10_000 + slippage_bps)
    tokens, _, _ = bc.buy_with_sol(curve, spend, fee_bps)
    n, cost, fee = bc.buy_cost(curve, tokens, fee_bps)
    return CurveQuote(n, sol_budget, cost + fee, n)


def quote_sell(curve: bc.Curve, tokens: int, fee_bps: int, slippage_bps: int, floor: int = 0) -> CurveQuote:
    """SOL the tokens fetch now after the fee; `min_sol_output` is that less the slack (>= floor)."""
    gross, fee = bc.sell_proceeds(curve, tokens, fee_bps)
    received = max(0, gross - fee)
    bound = max(floor, received * (10_000 - slippage_bps) // 10_000)
    return CurveQuote(tokens, bound, tokens, received)


class PumpFunVenue(TransactionVenue):
    """Builds and signs Pump.fun trades for one wallet; sends them through the RPC node."""

    name: str = VenueName.PUMPFUN.value

    def __init__(
        self, rpc: RpcClient, wallet: Keypair, config: PumpFunConfig, *, fees: PriorityFeePolicy | None = None
    ) -> None:
        self.rpc = rpc
        self.config = config
        self.fees = fees or PriorityFeePolicy()
        self._wallet = wallet
        self._wallet_pk = wallet.pubkey()

    def __repr__(self) -> str:  # never the keypair
        return f"PumpFunVenue(wallet={self._wallet_pk})"

    async def read_curve(self, mint: Pubkey) -> BondingCurveAccount:
        account = await self.rpc.get_account_info(str(bonding_curve_pda(mint)))
        if account is None:
            raise VenueRejected(f"no bonding curve for mint {mint}")
        return BondingCurveAccount.parse(account.data)

    def quote(self, order: Order, curve: BondingCurveAccount) -> CurveQuote:
        fee_bps = order.pool_state.fee_bps
        if order.side == "buy":
            return quote_buy(curve.curve(), order.amount_in, fee_bps, self.config.slippage_bps)
        return quote_sell(
            curve.curve(), order.amount_in, fee_bps, self.config.slippage_bps, order.min_amount_out
        )

    def instructions(self, order: Order, curve: BondingCurveAccount, quote: CurveQuote) -> list[Instruction]:
        mint = Pubkey.from_string(order.pool_state.base_mint)
        accounts = TradeAccounts(mint, self._wallet_pk, curve.creator, self.config.fee_recipient)
        if order.side == "buy":
            return [
                create_idempotent_associated_token_account(self._wallet_pk, self._wallet_pk, mint),
                buy_instruction(accounts, quote.amount, quote.sol_bound, self.config.track_volume),
                memo_ix(order.id),
            ]
        return [sell_instruction(accounts, quote.amount, quote.sol_bound), memo_ix(order.id)]

    async def prepare(self, order: Order, wallet: Mapping[str, int]) -> PreparedTx | Refused:
        """Read the curve, quote, build, preflight, sign; `Refused(slippage)` when the quote misses the
        order's bound. `wallet` is not consulted: the chain refuses what it cannot pay."""
        validate_order(order)
        curve = await self.read_curve(Pubkey.from_string(order.pool_state.base_mint))
        if curve.complete:
            raise VenueRejected(f"order {order.id}: the bonding curve is complete (migrated)")
        quote = self.quote(order, curve)
        if quote.expected_out <= 0 or quote.expected_out < order.min_amount_out:
            return Refused(SLIPPAGE)
        body = self.instructions(order, curve, quote)
        latest = await self.rpc.get_latest_blockhash()
        blockhash = Hash.from_string(latest.blockhash)
        budget = await preflight(
            self.rpc,
            self._wallet,
            body,
            blockhash,
            order_id=order.id,
            fees=self.fees,
            cu_margin_bps=self.config.cu_margin_bps,
        )
        tx = budgeted_transaction(self._wallet, body, blockhash, budget.unit_limit, budget.unit_price)
        return PreparedTx(
            signature=str(tx.signatures[0]),
            raw_base64=transaction_base64(tx),
            last_valid_block_height=latest.last_valid_block_height,
            in_amount=quote.expected_in,
            out_amount=quote.expected_out,
            unit_limit=budget.unit_limit,
            unit_price=budget.unit_price,
        )

    async def broadcast(self, raw_base64: str) -> None:
        """Send the stored bytes once; the life cycle re-sends the same bytes (one signature)."""
        await self.rpc.send_transaction(raw_base64)
