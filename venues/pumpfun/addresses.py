"""Pump.fun's programs, fixed accounts, PDAs and fee-recipient lists (docs/protocols/README.md §1.1, §1.3).

Seeds are the IDL's (pump-fun/pump-public-docs `idl/pump.json`); the three recipient lists are the `Global`
account's (`fee_recipient` + `fee_recipients[7]`, `reserved_fee_recipient` + `reserved_fee_recipients[7]`,
`buyback_fee_recipients[8]`). `parse_global_fee_recipients` reads them from the live account, so a
deployment can check the defaults below, which are only the lists as read on 2026-12-04.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey

from core.errors import DecodeError
from venues.pumpfun import schemas

PROGRAM_ID = Pubkey.from_string(schemas.PROGRAM_ID)
FEE_PROGRAM_ID = Pubkey.from_string("pfeeUxB6jkeY1Hxd7CsFCAjcbHA9rWtchMGdZ6VojVZ")
SYSTEM_PROGRAM_ID = Pubkey.from_string("11111111111111111111111111111111")
TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM_ID = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ASSOCIATED_TOKEN_PROGRAM_ID = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
WSOL_MINT = Pubkey.from_string("So11111111111111111111111111111111111111112")
DEFAULT_PUBKEY = Pubkey.default()

GLOBAL = Pubkey.from_string("4wTV1YmiEkRvAtNtsSGPtUrqRYQMe5SKy2uB4Jjaxnjf")
EVENT_AUTHORITY = Pubkey.from_string("Ce6TQqeHC9p8KetsN6JsjHK7UTZk7nasjjnr7XxXp9F1")
GLOBAL_VOLUME_ACCUMULATOR = Pubkey.from_string("Hq2wp8uJ9jCPsYgNHex8RtqdvMPfVGoYwjvF1ATiwn2Y")
FEE_CONFIG = Pubkey.from_string("8Wf5TiAheLUqBrKXeYg2JtAFFMWtKdG2BSFgqUcPVwTt")

TOKEN_PROGRAMS = (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID)


def _keys(*text: str) -> tuple[Pubkey, ...]:
    return tuple(Pubkey.from_string(t) for t in text)


# Global.fee_recipient + fee_recipients[7] (PUMP_PROGRAM_README Global dump = SDK CURRENT_FEE_RECIPIENTS).
NORMAL_FEE_RECIPIENTS = _keys(
    "62qc2CNXwrYqQScmEdiZFFAnJR262PxWEuNQtxfafNgV",
    "7VtfL8fvgNfhz17qKRMjzQEXgbdpnHHHQRh54R9jP2RJ",
    "7hTckgnGnLQR6sdH7YkqFTAA7VwTfYFaZ6EhEsU3saCX",
    "9rPYyANsfQZw3DnDmKE3YCQF5E8oD89UXoHn9JFEhJUz",
    "AVmoTthdrX6tKt4nDjco2D775W2YK3sDhxPcMmzUAmTY",
    "CebN5WGQ4jvEPvsVU4EoHEpgzq1VV7AbicfhtW4xC9iM",
    "FWsW1xNtWscwNmKv6wVsU1iTzRN6wmmk3MjxRP5tT7hz",
    "G5UZAVbAf46s7cKWoyKu8kYTip9DGTpbLZ2qa9Aq69dP",
)
# Global.reserved_fee_recipient + reserved_fee_recipients[7]: mayhem coins pay one of these.
RESERVED_FEE_RECIPIENTS = _keys(
    "GesfTA3X2arioaHp8bbKdjG9vJtskViWACZoYvxp4twS",
    "4budycTjhs9fD6xw62VBducVTNgMgJJ5BgtKq7mAZwn6",
    "8SBKzEQU4nLSzcwF4a74F2iaUDQyTfjGndn6qUWBnrpR",
    "4UQeTP1T39KZ9Sfxzo3WR5skgsaP6NZa87BAkuazLEKH",
    "8sNeir4QsLsJdYpc9RZacohhK1Y5FLU3nC5LXgYB4aa6",
    "Fh9HmeLNUMVCvejxCtCL2DbYaRyBFVJ5xrWkLnMH6fdk",
    "463MEnMeGyJekNZFQSTUABBEbLnvMTALbT6ZmsxAbAdq",
    "6AUH3WEHucYZyC61hqpqYUWVto5qA5hjHuNQ32GNnNxA",
)
# Global.buyback_fee_recipients[8] (SDK 2.0.0 CURRENT_FEE_RECIPIENTS_FOR_BUYBACK): every trade names one.
BUYBACK_FEE_RECIPIENTS = _keys(
    "5YxQFdt3Tr9zJLvkFccqXVUwhdTWJQc1fFg2YPbxvxeD",
    "9M4giFFMxmFGXtc3feFzRai56WbBqehoSeRE5GK7gf7",
    "GXPFM2caqTtQYC2cJ5yJRi9VDkpsYZXzYdwYpGnLmtDL",
    "3BpXnfJaUTiwXnJNe7Ej1rcbzqTTQUvLShZaWazebsVR",
    "5cjcW9wExnJJiqgLjq7DEG75Pm6JBgE1hNv4B2vHXUW6",
    "EHAAiTxcdDwQ3U4bU6YcMsQGaekdzLS3B5SmYo46kJtL",
    "5eHhjP8JaYkz83CWwvGU2uMUXefd3AazWGx4gpcuEEYD",
    "A7hAgCzFw14fejgCp387JUJRMNyz4j89JKnhtKU8piqW",
)


def _pda(seeds: list[bytes], program: Pubkey = PROGRAM_ID) -> Pubkey:
    return Pubkey.find_program_address(seeds, program)[0]


def bonding_curve_pda(mint: Pubkey) -> Pubkey:
    return _pda([b"bonding-curve", bytes(mint)])


def bonding_curve_v2_pda(mint: Pubkey) -> Pubkey:
    """Required (read-only) by every legacy trade since April 2026, usually uninitialised."""
    return _pda([b"bonding-curve-v2", bytes(mint)])


def creator_vault_pda(creator: Pubkey) -> Pubkey:
    return _pda([b"creator-vault", bytes(creator)])


def global_volume_accumulator_pda() -> Pubkey:
    return _pda([b"global_volume_accumulator"])


def user_volume_accumulator_pda(user: Pubkey) -> Pubkey:
    return _pda([b"user_volume_accumulator", bytes(user)])


def sharing_config_pda(mint: Pubkey) -> Pubkey:
    return _pda([b"sharing-config", bytes(mint)], FEE_PROGRAM_ID)


def fee_config_pda() -> Pubkey:
    return _pda([b"fee_config", bytes(PROGRAM_ID)], FEE_PROGRAM_ID)


def associated_token_address(owner: Pubkey, token_program: Pubkey, mint: Pubkey) -> Pubkey:
    """ATA seeds `owner, token_program, mint`: the token program is the mint's own (Token-2022 for
    `create_v2` coins), never assumed."""
    return _pda([bytes(owner), bytes(token_program), bytes(mint)], ASSOCIATED_TOKEN_PROGRAM_ID)


@dataclass(frozen=True, slots=True)
class FeeRecipients:
    """One recipient of each list: `normal` for ordinary coins, `reserved` for mayhem coins, `buyback`
    for every legacy, v2 and v3 trade. The program accepts any member of each list."""

    normal: Pubkey = NORMAL_FEE_RECIPIENTS[0]
    reserved: Pubkey = RESERVED_FEE_RECIPIENTS[0]
    buyback: Pubkey = BUYBACK_FEE_RECIPIENTS[0]

    def protocol(self, is_mayhem: bool) -> Pubkey:
        return self.reserved if is_mayhem else self.normal


# Global account offsets from the start of the data, discriminator included (pumpfun_constants.json).
_FEE_RECIPIENT_AT, _FEE_RECIPIENTS_AT = 41, 162
_RESERVED_AT, _RESERVED_LIST_AT = 483, 516
_BUYBACK_AT = 741
_GLOBAL_MIN_LEN = _BUYBACK_AT + 8 * 32


@dataclass(frozen=True, slots=True)
class GlobalFeeRecipients:
    """The three lists as the Global account holds them."""

    normal: tuple[Pubkey, ...]
    reserved: tuple[Pubkey, ...]
    buyback: tuple[Pubkey, ...]


def parse_global_fee_recipients(data: bytes) -> GlobalFeeRecipients:
    """The fee-recipient lists from the Global account's data (discriminator included)."""
    if len(data) < _GLOBAL_MIN_LEN:
        raise DecodeError(f"Global: {len(data)} bytes, too short for the buyback recipients")

    def keys(at: int, n: int) -> tuple[Pubkey, ...]:
        return tuple(Pubkey.from_bytes(data[at + 32 * i : at + 32 * (i + 1)]) for i in range(n))

    return GlobalFeeRecipients(
        normal=keys(_FEE_RECIPIENT_AT, 1) + keys(_FEE_RECIPIENTS_AT, 7),
        reserved=keys(_RESERVED_AT, 1) + keys(_RESERVED_LIST_AT, 7),
        buyback=keys(_BUYBACK_AT, 8),
    )
