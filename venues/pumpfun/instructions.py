"""Pump.fun trade instructions as the current program takes them (docs/protocols/README.md §1.4, §1.5).

Sources: pump-fun/pump-public-docs `idl/pump.json` and `docs/instructions/TRADE_V3.md` (commit 2293f9a),
`BUY.md` / `SELL.md` (8cda1fa), SDK 2.0.0 `getBuyInstructionRaw` / `getSellInstructionRaw` for the
remaining accounts; each list is tested against `tests/venues/vectors/pumpfun_instructions.json`.

Three families:
* legacy `buy`, `buy_exact_sol_in` (18 accounts) and `sell` (16, 17 for cashback coins): SOL-paired coins
  only; the IDL's accounts then `bonding_curve_v2` (read-only) and a buyback recipient (writable).
* v2 (`buy_v2`, `buy_exact_quote_in_v2`: 27; `sell_v2`: 26): any quote mint, fees paid out per trade.
* v3 (`buy_v3`, `buy_exact_quote_in_v3`, `sell_v3`: 17): fees stay on the curve; not for cashback coins.

Every token account is derived with the token program of its own mint (`Coin`): Token-2022 for
`create_v2` coins and most pump-coin quotes, SPL Token for older coins, WSOL and USDC.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from core.errors import VenueRejected
from venues.pumpfun.addresses import (
    ASSOCIATED_TOKEN_PROGRAM_ID,
    EVENT_AUTHORITY,
    FEE_CONFIG,
    FEE_PROGRAM_ID,
    GLOBAL,
    GLOBAL_VOLUME_ACCUMULATOR,
    PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    WSOL_MINT,
    FeeRecipients,
    associated_token_address,
    bonding_curve_pda,
    bonding_curve_v2_pda,
    creator_vault_pda,
    sharing_config_pda,
    user_volume_accumulator_pda,
)

# Anchor discriminators sha256("global:<name>")[:8], as the IDL lists them (checked in tests).
BUY = bytes.fromhex("66063d1201daebea")
BUY_EXACT_SOL_IN = bytes.fromhex("38fc74089edfcd5f")
SELL = bytes.fromhex("33e685a4017f83ad")
BUY_V2 = bytes.fromhex("b817ee6167c5d33d")
BUY_EXACT_QUOTE_IN_V2 = bytes.fromhex("c2ab1c46684d5b2f")
SELL_V2 = bytes.fromhex("5df6823ce7e940b2")
BUY_V3 = bytes.fromhex("07051dc4f5176550")
BUY_EXACT_QUOTE_IN_V3 = bytes.fromhex("e1f7501ed5b38488")
SELL_V3 = bytes.fromhex("1c92de7726c469d5")


@dataclass(frozen=True, slots=True)
class Coin:
    """What decides a coin's accounts: its mint and that mint's token program, its quote mint (WSOL for
    SOL-paired coins, whose curve stores the default key) and that mint's program, the curve's creator
    (its vault), and the mayhem and cashback flags of the curve."""

    mint: Pubkey
    creator: Pubkey
    token_program: Pubkey = TOKEN_PROGRAM_ID
    quote_mint: Pubkey = WSOL_MINT
    quote_token_program: Pubkey = TOKEN_PROGRAM_ID
    is_mayhem: bool = False
    is_cashback: bool = False

    @property
    def sol_paired(self) -> bool:
        return self.quote_mint == WSOL_MINT


DEFAULT_RECIPIENTS = FeeRecipients()


@dataclass(frozen=True, slots=True)
class TradeAccounts:
    """One user's trade on one coin, with the fee recipients it names."""

    coin: Coin
    user: Pubkey
    recipients: FeeRecipients = DEFAULT_RECIPIENTS

    @property
    def mint(self) -> Pubkey:
        return self.coin.mint

    @property
    def bonding_curve(self) -> Pubkey:
        return bonding_curve_pda(self.coin.mint)

    @property
    def fee_recipient(self) -> Pubkey:
        """A reserved recipient for mayhem coins, a normal one otherwise."""
        return self.recipients.protocol(self.coin.is_mayhem)

    def base_ata(self, owner: Pubkey) -> Pubkey:
        return associated_token_address(owner, self.coin.token_program, self.coin.mint)

    def quote_ata(self, owner: Pubkey) -> Pubkey:
        return associated_token_address(owner, self.coin.quote_token_program, self.coin.quote_mint)

    @property
    def associated_bonding_curve(self) -> Pubkey:
        return self.base_ata(self.bonding_curve)

    @property
    def associated_user(self) -> Pubkey:
        return self.base_ata(self.user)


def _w(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, is_signer=False, is_writable=True)


def _r(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, is_signer=False, is_writable=False)


def _signer(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, is_signer=True, is_writable=True)


def _u64(name: str, value: int) -> bytes:
    if not 0 <= value <= 2**64 - 1:
        raise VenueRejected(f"{name} must fit a u64, not {value}")
    return value.to_bytes(8, "little")


def _option_bool(value: bool | None) -> bytes:
    """`OptionBool` is a one-field struct (no Option tag); None leaves the trailing arg off (EOF-tolerant)."""
    return b"" if value is None else bytes([1 if value else 0])


def _data(disc: bytes, first: tuple[str, int], second: tuple[str, int], *flags: bool | None) -> bytes:
    out = disc + _u64(*first) + _u64(*second)
    for i, flag in enumerate(flags):
        if flag is None and any(f is not None for f in flags[i:]):
            raise VenueRejected("a trailing OptionBool may be left off only when every later one is")
        out += _option_bool(flag)
    return out


# -- legacy: SOL-paired coins -----------------------------------------------------------------------------


def _legacy_only(accounts: TradeAccounts) -> None:
    if not accounts.coin.sol_paired:
        raise VenueRejected(
            f"{accounts.coin.mint}: legacy buy/sell trade SOL-paired coins only; use v2 or v3"
        )


def _legacy_buy_metas(accounts: TradeAccounts) -> list[AccountMeta]:
    coin = accounts.coin
    return [
        _r(GLOBAL),
        _w(accounts.fee_recipient),
        _r(coin.mint),
        _w(accounts.bonding_curve),
        _w(accounts.associated_bonding_curve),
        _w(accounts.associated_user),
        _signer(accounts.user),
        _r(SYSTEM_PROGRAM_ID),
        _r(coin.token_program),
        _w(creator_vault_pda(coin.creator)),
        _r(EVENT_AUTHORITY),
        _r(PROGRAM_ID),
        _r(GLOBAL_VOLUME_ACCUMULATOR),  # read-only in the IDL since SDK 1.22
        _w(user_volume_accumulator_pda(accounts.user)),
        _r(FEE_CONFIG),
        _r(FEE_PROGRAM_ID),
        # remaining accounts the program requires since April 2026 (SDK getBuyInstructionRaw)
        _r(bonding_curve_v2_pda(coin.mint)),
        _w(accounts.recipients.buyback),
    ]


def buy_instruction(
    accounts: TradeAccounts,
    amount: int,
    max_sol_cost: int,
    track_volume: bool = False,
    partial_fill: bool | None = None,
) -> Instruction:
    """`buy` (exact tokens out, SOL ceiling): 18 accounts."""
    _legacy_only(accounts)
    data = _data(BUY, ("amount", amount), ("max_sol_cost", max_sol_cost), track_volume, partial_fill)
    return Instruction(PROGRAM_ID, data, _legacy_buy_metas(accounts))


def buy_exact_sol_in_instruction(
    accounts: TradeAccounts,
    spendable_sol_in: int,
    min_tokens_out: int,
    track_volume: bool = False,
    partial_fill: bool | None = None,
) -> Instruction:
    """`buy_exact_sol_in` (exact SOL in, token floor): the same 18 accounts as `buy`."""
    _legacy_only(accounts)
    data = _data(
        BUY_EXACT_SOL_IN,
        ("spendable_sol_in", spendable_sol_in),
        ("min_tokens_out", min_tokens_out),
        track_volume,
        partial_fill,
    )
    return Instruction(PROGRAM_ID, data, _legacy_buy_metas(accounts))


def sell_instruction(accounts: TradeAccounts, amount: int, min_sol_output: int) -> Instruction:
    """`sell`: 16 accounts, 17 for cashback coins (their user volume accumulator comes first among the
    remaining accounts; IDL `sell` docs, SDK getSellInstructionRaw)."""
    _legacy_only(accounts)
    coin = accounts.coin
    data = _data(SELL, ("amount", amount), ("min_sol_output", min_sol_output))
    metas = [
        _r(GLOBAL),
        _w(accounts.fee_recipient),
        _r(coin.mint),
        _w(accounts.bonding_curve),
        _w(accounts.associated_bonding_curve),
        _w(accounts.associated_user),
        _signer(accounts.user),
        _r(SYSTEM_PROGRAM_ID),
        _w(creator_vault_pda(coin.creator)),
        _r(coin.token_program),
        _r(EVENT_AUTHORITY),
        _r(PROGRAM_ID),
        _r(FEE_CONFIG),
        _r(FEE_PROGRAM_ID),
    ]
    if coin.is_cashback:
        metas.append(_w(user_volume_accumulator_pda(accounts.user)))
    metas += [_r(bonding_curve_v2_pda(coin.mint)), _w(accounts.recipients.buyback)]
    return Instruction(PROGRAM_ID, data, metas)


# -- v2: any quote mint, fees paid per trade -------------------------------------------------------------


def _v2_metas(accounts: TradeAccounts, *, buy: bool) -> list[AccountMeta]:
    coin, user = accounts.coin, accounts.user
    fee_recipient, buyback = accounts.fee_recipient, accounts.recipients.buyback
    curve, vault = accounts.bonding_curve, creator_vault_pda(coin.creator)
    uva = user_volume_accumulator_pda(user)
    metas = [
        _r(GLOBAL),
        _r(coin.mint),
        _r(coin.quote_mint),
        _r(coin.token_program),
        _r(coin.quote_token_program),
        _r(ASSOCIATED_TOKEN_PROGRAM_ID),
        _w(fee_recipient),
        _w(accounts.quote_ata(fee_recipient)),
        _w(buyback),
        _w(accounts.quote_ata(buyback)),
        _w(curve),
        _w(accounts.base_ata(curve)),
        _w(accounts.quote_ata(curve)),
        _signer(user),
        _w(accounts.base_ata(user)),
        _w(accounts.quote_ata(user)),
        _w(vault),
        _w(accounts.quote_ata(vault)),
        _r(sharing_config_pda(coin.mint)),
    ]
    if buy:
        metas.append(_r(GLOBAL_VOLUME_ACCUMULATOR))
    return [
        *metas,
        _w(uva),
        _w(accounts.quote_ata(uva)),
        _r(FEE_CONFIG),
        _r(FEE_PROGRAM_ID),
        _r(SYSTEM_PROGRAM_ID),
        _r(EVENT_AUTHORITY),
        _r(PROGRAM_ID),
    ]


def buy_v2_instruction(
    accounts: TradeAccounts, amount: int, max_sol_cost: int, partial_fill: bool | None = None
) -> Instruction:
    """`buy_v2` (exact tokens out, quote ceiling in quote units): 27 accounts."""
    data = _data(BUY_V2, ("amount", amount), ("max_sol_cost", max_sol_cost), partial_fill)
    return Instruction(PROGRAM_ID, data, _v2_metas(accounts, buy=True))


def buy_exact_quote_in_v2_instruction(
    accounts: TradeAccounts, spendable_quote_in: int, min_tokens_out: int, partial_fill: bool | None = None
) -> Instruction:
    """`buy_exact_quote_in_v2`: 27 accounts."""
    data = _data(
        BUY_EXACT_QUOTE_IN_V2,
        ("spendable_quote_in", spendable_quote_in),
        ("min_tokens_out", min_tokens_out),
        partial_fill,
    )
    return Instruction(PROGRAM_ID, data, _v2_metas(accounts, buy=True))


def sell_v2_instruction(accounts: TradeAccounts, amount: int, min_sol_output: int) -> Instruction:
    """`sell_v2`: 26 accounts (no global volume accumulator)."""
    data = _data(SELL_V2, ("amount", amount), ("min_sol_output", min_sol_output))
    return Instruction(PROGRAM_ID, data, _v2_metas(accounts, buy=False))


# -- v3: fees stay on the curve ---------------------------------------------------------------------------


def _v3_metas(accounts: TradeAccounts) -> list[AccountMeta]:
    coin, user, curve = accounts.coin, accounts.user, accounts.bonding_curve
    if coin.is_cashback:
        raise VenueRejected(f"{coin.mint}: v3 trades fail on cashback coins (6094); use v2")
    buyback = accounts.recipients.buyback
    return [
        _r(GLOBAL),
        _r(coin.mint),
        _r(coin.quote_mint),
        _r(coin.token_program),
        _r(coin.quote_token_program),
        _w(curve),
        _w(accounts.base_ata(curve)),
        _w(accounts.quote_ata(curve)),
        _signer(user),
        _w(accounts.base_ata(user)),  # must exist: the trade does not create it
        _w(accounts.quote_ata(user)),
        _w(user_volume_accumulator_pda(user)),
        _r(FEE_CONFIG),
        # TRADE_V3.md: the wallet for SOL-paired coins, its quote token account otherwise (must exist)
        _w(buyback if coin.sol_paired else accounts.quote_ata(buyback)),
        _r(SYSTEM_PROGRAM_ID),
        _r(EVENT_AUTHORITY),
        _r(PROGRAM_ID),
    ]


def buy_v3_instruction(
    accounts: TradeAccounts, amount: int, max_sol_cost: int, partial_fill: bool | None = None
) -> Instruction:
    """`buy_v3`: 17 accounts; `partial_fill` matters for mayhem coins only."""
    data = _data(BUY_V3, ("amount", amount), ("max_sol_cost", max_sol_cost), partial_fill)
    return Instruction(PROGRAM_ID, data, _v3_metas(accounts))


def buy_exact_quote_in_v3_instruction(
    accounts: TradeAccounts, spendable_quote_in: int, min_tokens_out: int, partial_fill: bool | None = None
) -> Instruction:
    """`buy_exact_quote_in_v3`: 17 accounts."""
    data = _data(
        BUY_EXACT_QUOTE_IN_V3,
        ("spendable_quote_in", spendable_quote_in),
        ("min_tokens_out", min_tokens_out),
        partial_fill,
    )
    return Instruction(PROGRAM_ID, data, _v3_metas(accounts))


def sell_v3_instruction(accounts: TradeAccounts, amount: int, min_sol_output: int) -> Instruction:
    """`sell_v3`: 17 accounts."""
    data = _data(SELL_V3, ("amount", amount), ("min_sol_output", min_sol_output))
    return Instruction(PROGRAM_ID, data, _v3_metas(accounts))
