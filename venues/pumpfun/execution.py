"""Pump.fun bonding-curve venue: trades built with the current program's account lists.

Builders are `venues.pumpfun.instructions` (docs/protocols/README.md §1.5, tested on the official vectors).
SOL-paired coins trade through the legacy `buy` / `sell` (18 / 16 accounts, 17 for cashback sells), coins
quoted in another mint through `buy_v2` / `sell_v2`; with `trade_v3` every coin but cashback ones through
`buy_v3` / `sell_v3`. The token program of each mint is read from the chain (the mint account's owner:
Token-2022 for `create_v2` coins) and used for the trade and the user's token account; mayhem coins pay a
reserved fee recipient; the recipients are the `Global` account's (`recipients_from_global`). Amounts
come from the curve as read from the chain just before signing, never from the order's (older) pool
state; fees come from the order's pool state (`fee_bps` and its creator part), never hard-coded.

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

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import create_idempotent_associated_token_account

from chain.local import memo_ix
from chain.rpc import RpcClient
from core.errors import DecodeError, VenueRejected
from market import bonding_curve as bc
from market.fills import SLIPPAGE
from market.venues import VenueName
from streams.records import Order
from venues.fee_source import FeeSource, FixedFees
from venues.fees import PriorityFeePolicy, budgeted_transaction, transaction_base64
from venues.interface import PreparedTx, Refused, TransactionVenue, validate_order
from venues.preflight import preflight
from venues.pumpfun.addresses import (
    GLOBAL,
    PROGRAM_ID,
    TOKEN_PROGRAMS,
    WSOL_MINT,
    FeeRecipients,
    bonding_curve_pda,
    parse_global_fee_recipients,
)
from venues.pumpfun.config import PumpFunConfig
from venues.pumpfun.instructions import (
    Coin,
    TradeAccounts,
    buy_instruction,
    buy_v2_instruction,
    buy_v3_instruction,
    sell_instruction,
    sell_v2_instruction,
    sell_v3_instruction,
)
from venues.pumpfun.schemas import BondingCurveAccount


@dataclass(frozen=True, slots=True)
class CurveQuote:
    """What the instruction will ask for, and what the fill is expected to move (raw units)."""

    amount: int  # tokens out (buy) or in (sell): the instruction's `amount`
    sol_bound: int  # max_sol_cost (buy) or min_sol_output (sell)
    expected_in: int  # SOL paid incl. fee (buy) or tokens sold (sell)
    expected_out: int  # tokens bought (buy) or SOL received after fee (sell)


def quote_buy(
    curve: bc.Curve, sol_budget: int, fee_bps: int, slippage_bps: int, creator_fee_bps: int = 0
) -> CurveQuote:
    """Tokens the budget less the slack buys now; `max_sol_cost` is the whole budget."""
    if curve.complete or curve.real_token_reserves <= 0:
        return CurveQuote(0, sol_budget, 0, 0)
    spend = sol_budget * 10_000 // (10_000 + slippage_bps)
    tokens, _, _ = bc.buy_with_sol(curve, spend, fee_bps, creator_fee_bps)
    n, cost, fee = bc.buy_cost(curve, tokens, fee_bps, creator_fee_bps)
    return CurveQuote(n, sol_budget, cost + fee, n)


def quote_sell(
    curve: bc.Curve, tokens: int, fee_bps: int, slippage_bps: int, floor: int = 0, creator_fee_bps: int = 0
) -> CurveQuote:
    """SOL the tokens fetch now after the fees; `min_sol_output` is that less the slack (>= floor)."""
    gross, fee = bc.sell_proceeds(curve, tokens, fee_bps, creator_fee_bps)
    received = max(0, gross - fee)
    bound = max(floor, received * (10_000 - slippage_bps) // 10_000)
    return CurveQuote(tokens, bound, tokens, received)


class PumpFunVenue(TransactionVenue):
    """Builds and signs Pump.fun trades for one wallet; sends them through the RPC node."""

    name: str = VenueName.PUMPFUN.value

    def __init__(
        self,
        rpc: RpcClient,
        wallet: Keypair,
        config: PumpFunConfig,
        *,
        fees: PriorityFeePolicy | FeeSource | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rpc = rpc
        self.config = config
        self._clock = clock
        self._global: tuple[float, FeeRecipients] | None = None  # (read at, recipients) from Global
        self.fees: FeeSource = (
            fees
            if fees is not None and not isinstance(fees, PriorityFeePolicy)
            else FixedFees(fees or PriorityFeePolicy())
        )
        self._wallet = wallet
        self._wallet_pk = wallet.pubkey()
        self._token_programs: dict[Pubkey, Pubkey] = {WSOL_MINT: TOKEN_PROGRAMS[0]}  # owners never change

    def __repr__(self) -> str:  # never the keypair
        return f"PumpFunVenue(wallet={self._wallet_pk})"

    def address(self) -> str:
        return str(self._wallet_pk)

    async def read_curve(self, mint: Pubkey) -> BondingCurveAccount:
        account = await self.rpc.get_account_info(str(bonding_curve_pda(mint)))
        if account is None:
            raise VenueRejected(f"no bonding curve for mint {mint}")
        return BondingCurveAccount.parse(account.data)

    async def fee_recipients(self) -> FeeRecipients:
        """The config's recipients, or (`recipients_from_global`) the Global account's, re-read every
        `global_ttl_s`: of each list the configured key while Global still lists it, else its first."""
        config = self.config
        if not config.recipients_from_global:
            return config.recipients
        now = self._clock()
        if self._global is not None and now - self._global[0] < config.global_ttl_s:
            return self._global[1]
        account = await self.rpc.get_account_info(str(GLOBAL))
        if account is None or account.owner != str(PROGRAM_ID):
            raise VenueRejected(f"the Pump.fun Global account {GLOBAL} is missing or not the program's")
        try:
            listed = parse_global_fee_recipients(account.data)
        except DecodeError as exc:
            raise VenueRejected(f"the Pump.fun Global account: {exc}") from None
        recipients = FeeRecipients(
            _pick(config.fee_recipient, listed.normal, "fee_recipients"),
            _pick(config.reserved_fee_recipient, listed.reserved, "reserved_fee_recipients"),
            _pick(config.buyback_fee_recipient, listed.buyback, "buyback_fee_recipients"),
        )
        self._global = (now, recipients)
        return recipients

    async def token_program(self, mint: Pubkey) -> Pubkey:
        """The mint's owner: SPL Token or Token-2022 (`create_v2` coins); read once per mint."""
        known = self._token_programs.get(mint)
        if known is not None:
            return known
        account = await self.rpc.get_account_info(str(mint))
        if account is None:
            raise VenueRejected(f"no mint account {mint}")
        owner = Pubkey.from_string(account.owner)
        if owner not in TOKEN_PROGRAMS:
            raise VenueRejected(f"mint {mint} is owned by {owner}, not a token program")
        self._token_programs[mint] = owner
        return owner

    async def coin(self, mint: Pubkey, curve: BondingCurveAccount) -> Coin:
        return Coin(
            mint=mint,
            creator=curve.creator,
            token_program=await self.token_program(mint),
            quote_mint=curve.quote_mint,
            quote_token_program=await self.token_program(curve.quote_mint),
            is_mayhem=curve.is_mayhem_mode,
            is_cashback=curve.is_cashback_coin,
        )

    def quote(self, order: Order, curve: BondingCurveAccount) -> CurveQuote:
        """Priced at the pool state's fees as the last trade charged them: protocol and creator part each
        rounded up (a state without the split, `creator_fee_bps=0`, is rounded once)."""
        fee_bps, creator_bps = order.pool_state.fee_bps, order.pool_state.creator_fee_bps
        if order.side == "buy":
            return quote_buy(curve.curve(), order.amount_in, fee_bps, self.config.slippage_bps, creator_bps)
        return quote_sell(
            curve.curve(),
            order.amount_in,
            fee_bps,
            self.config.slippage_bps,
            order.min_amount_out,
            creator_fee_bps=creator_bps,
        )

    def instructions(
        self, order: Order, coin: Coin, quote: CurveQuote, recipients: FeeRecipients | None = None
    ) -> list[Instruction]:
        """`trade_v3` (not for cashback coins, TRADE_V3.md): buy_v3 / sell_v3, whose buyback recipient of a
        token-paired coin is its quote token account, created first when missing. Otherwise SOL-paired
        coins: legacy buy / sell; coins quoted in another mint: buy_v2 / sell_v2."""
        accounts = TradeAccounts(coin, self._wallet_pk, recipients or self.config.recipients)
        v3 = self.config.trade_v3 and not coin.is_cashback
        body: list[Instruction] = []
        if v3 and not coin.sol_paired:
            body.append(
                create_idempotent_associated_token_account(
                    self._wallet_pk, accounts.recipients.buyback, coin.quote_mint, coin.quote_token_program
                )
            )
        if order.side == "buy":
            body.append(
                create_idempotent_associated_token_account(
                    self._wallet_pk, self._wallet_pk, coin.mint, coin.token_program
                )
            )
            if v3:
                trade = buy_v3_instruction(accounts, quote.amount, quote.sol_bound)
            elif coin.sol_paired:
                trade = buy_instruction(accounts, quote.amount, quote.sol_bound, self.config.track_volume)
            else:
                trade = buy_v2_instruction(accounts, quote.amount, quote.sol_bound)
        elif v3:
            trade = sell_v3_instruction(accounts, quote.amount, quote.sol_bound)
        elif coin.sol_paired:
            trade = sell_instruction(accounts, quote.amount, quote.sol_bound)
        else:
            trade = sell_v2_instruction(accounts, quote.amount, quote.sol_bound)
        return [*body, trade, memo_ix(order.id)]

    async def prepare(self, order: Order, wallet: Mapping[str, int]) -> PreparedTx | Refused:
        """Read the curve, quote, build, preflight, sign; `Refused(slippage)` when the quote misses the
        order's bound. `wallet` is not consulted: the chain refuses what it cannot pay."""
        validate_order(order)
        mint = Pubkey.from_string(order.pool_state.base_mint)
        curve = await self.read_curve(mint)
        if curve.complete:
            raise VenueRejected(f"order {order.id}: the bonding curve is complete (migrated)")
        if str(curve.quote_mint) != order.pool_state.quote_mint:
            raise VenueRejected(
                f"order {order.id}: the curve is quoted in {curve.quote_mint}, the order in "
                f"{order.pool_state.quote_mint}"
            )
        quote = self.quote(order, curve)
        if quote.expected_out <= 0 or quote.expected_out < order.min_amount_out:
            return Refused(SLIPPAGE)
        body = self.instructions(order, await self.coin(mint, curve), quote, await self.fee_recipients())
        latest = await self.rpc.get_latest_blockhash()
        blockhash = Hash.from_string(latest.blockhash)
        budget = await preflight(
            self.rpc,
            self._wallet,
            body,
            blockhash,
            order_id=order.id,
            fees=await self.fees.priority(body, order.kind),
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

    def observe_landing(self, landed: bool) -> None:
        self.fees.observe_landing(landed)


def _pick(configured: Pubkey, listed: tuple[Pubkey, ...], what: str) -> Pubkey:
    """Any member of a list is accepted by the program; unset slots hold the default key."""
    usable = [key for key in listed if key != Pubkey.default()]
    if not usable:
        raise VenueRejected(f"the Pump.fun Global account lists no {what}")
    return configured if configured in usable else usable[0]
