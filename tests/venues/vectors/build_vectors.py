"""Build the protocol test vectors in this folder from the documented seeds and layouts.

Run from the repository root:  python tests/venues/vectors/build_vectors.py   (needs only `solders`).
It rewrites the *.json files next to it; a reviewer re-runs it and diffs. Every layout, seed, account
order and flag below is transcribed from the source named in `SOURCES` (see docs/protocols/README.md for
the tables). Nothing here imports the bot's own code: the vectors are what the builders are tested against.
Where a source is incomplete (no official file lists it) the vector says so in a `note`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solders.address_lookup_table_account import AddressLookupTable, AddressLookupTableAccount
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import AdvanceNonceAccountParams, advance_nonce_account

OUT = Path(__file__).resolve().parent
READ_ON = "2026-12-04"

SOURCES: dict[str, dict[str, str]] = {
    "pump_idl": {
        "repo": "pump-fun/pump-public-docs",
        "path": "idl/pump.json",
        "commit": "2293f9a66c654e9fe82dc5e8f4618538f24bb35f",
        "read_on": READ_ON,
    },
    "pump_trade_v3": {
        "repo": "pump-fun/pump-public-docs",
        "path": "docs/instructions/TRADE_V3.md",
        "commit": "2293f9a66c654e9fe82dc5e8f4618538f24bb35f",
        "read_on": READ_ON,
    },
    "pump_buy_v2": {
        "repo": "pump-fun/pump-public-docs",
        "path": "docs/instructions/BUY.md",
        "commit": "8cda1fa30ea658b20909d8aedf002047119388d2",
        "read_on": READ_ON,
    },
    "pump_sell_v2": {
        "repo": "pump-fun/pump-public-docs",
        "path": "docs/instructions/SELL.md",
        "commit": "8cda1fa30ea658b20909d8aedf002047119388d2",
        "read_on": READ_ON,
    },
    "pump_coin_creation": {
        "repo": "pump-fun/pump-public-docs",
        "path": "docs/instructions/COIN_CREATION.md",
        "commit": "2293f9a66c654e9fe82dc5e8f4618538f24bb35f",
        "read_on": READ_ON,
    },
    "pump_program_readme": {
        "repo": "pump-fun/pump-public-docs",
        "path": "docs/PUMP_PROGRAM_README.md",
        "commit": "df5013e0f9253aa8039300964f1e0076da90c83d",
        "read_on": READ_ON,
    },
    "pump_cashback": {
        "repo": "pump-fun/pump-public-docs",
        "path": "docs/PUMP_CASHBACK_README.md",
        "commit": "6a0d5e0f20bc73e298f4b434d92c31144d1a3f1d",
        "read_on": READ_ON,
    },
    "pump_bonding_curve_ts": {
        "repo": "pump-fun/pump-public-docs",
        "path": "docs/bondingCurve.ts",
        "commit": "e2b66e4fce2fc130955912315167dc41e56956ad",
        "read_on": READ_ON,
    },
    "pump_sdk": {
        "registry": "npm",
        "package": "@pump-fun/pump-sdk",
        "version": "2.0.0",
        "path": "src/sdk.ts, src/bondingCurve.ts, src/fees.ts, src/pda.ts, src/idl/pump.json",
        "read_on": READ_ON,
    },
    "pump_sdk_history": {
        "registry": "npm",
        "package": "@pump-fun/pump-sdk",
        "version": "1.4.0 1.10.0 1.14.0 1.18.0 1.20.0 1.22.1 1.24.0 1.26.0 1.28.0 1.32.0-1.37.0 2.0.0",
        "path": "src/idl/pump.json (event/account layouts per release)",
        "read_on": READ_ON,
    },
    "drift_idl": {
        "registry": "npm",
        "package": "@drift-labs/sdk",
        "version": "2.156.0",
        "path": "src/idl/drift.json, src/types.ts, src/addresses/pda.ts, src/driftClient.ts",
        "read_on": READ_ON,
    },
    "jupiter_v1": {
        "repo": "jup-ag/docs",
        "path": "openapi-spec/swap/v1/swap.yaml",
        "commit": "585d519071d75a55a8c8682e16a4b82fecf9c83d",
        "read_on": READ_ON,
    },
    "jupiter_v1_build": {
        "repo": "jup-ag/docs",
        "path": "docs/swap/v1/build-swap-transaction.mdx",
        "commit": "4c8906a2df6635e7bc8bdd82bf6d07817d97995b",
        "read_on": READ_ON,
    },
    "jupiter_rate_limits": {"url": "Jupiter developer docs, portal/rate-limits", "read_on": READ_ON},
    "jito": {
        "repo": "jito-labs/jito-docs",
        "path": "docs/source/lowlatencytxnsend.md",
        "version": "newest stored version (35,936 chars: Dublin/London/Singapore regions, 1 req/s)",
        "read_on": READ_ON,
    },
    "solana_rpc": {
        "repo": "solana-foundation/solana-com",
        "path": "content/docs/rpc/{http/sendtransaction,http/getrecentprioritizationfees,"
        "websocket/*subscribe}.mdx",
        "commit": "21f8db0f / 14e8d699 / 2fa5f498 / 1b6a7da7",
        "read_on": READ_ON,
    },
    "agave_errors": {
        "repo": "anza-xyz/agave",
        "path": "rpc-client-api/src/custom_error.rs",
        "commit": "cc41db2ad2794c1eeba2fe5ad3caf5e3ea94a7b8",
        "read_on": READ_ON,
    },
    "tx_error": {
        "repo": "anza-xyz/solana-sdk",
        "path": "transaction-error/src/lib.rs",
        "commit": "11e3490dada716de92ee069a2b594531f6f7fceb",
        "read_on": READ_ON,
    },
    "compute_budget": {
        "repo": "anza-xyz/solana-sdk",
        "path": "compute-budget-interface/src/lib.rs",
        "commit": "2eabd02363ee1e04ec69f8a3a41061833491ba7a",
        "read_on": READ_ON,
    },
    "nonce": {
        "repo": "anza-xyz/solana-sdk",
        "path": "nonce/src/state.rs; system-interface/src/instruction.rs",
        "commit": "da27747aa6bb6edce6e04e076052d92851e8dea2; 062788458c8eaaf3fbeefbfeb41cb7228c6a6d0b",
        "read_on": READ_ON,
    },
    "raydium": {
        "repo": "raydium-io/raydium-amm",
        "path": "program/src/log.rs; program/src/state.rs",
        "commit": "b186b06df99f40a679264eb8937aa124eacaa679; 2c24a047c1a34cc6c40c4975f3fbf4e7fa71d03c",
        "read_on": READ_ON,
    },
}


def source(*keys: str) -> list[dict[str, str]]:
    return [SOURCES[k] for k in keys]


# -- primitives -------------------------------------------------------------------------------------------


def pk(text: str) -> Pubkey:
    return Pubkey.from_string(text)


def example_key(n: int) -> Pubkey:
    """A fixed, reproducible key: the pubkey of the keypair whose 32-byte seed is `n` repeated."""
    return Keypair.from_seed(bytes([n]) * 32).pubkey()


def pda(seeds: Iterable[bytes], program: Pubkey) -> Pubkey:
    return Pubkey.find_program_address(list(seeds), program)[0]


def anchor_disc(namespace: str, name: str) -> bytes:
    return hashlib.sha256(f"{namespace}:{name}".encode()).digest()[:8]


def u8(v: int) -> bytes:
    return struct.pack("<B", v)


def u16(v: int) -> bytes:
    return struct.pack("<H", v)


def u32(v: int) -> bytes:
    return struct.pack("<I", v)


def u64(v: int) -> bytes:
    return struct.pack("<Q", v)


def i32(v: int) -> bytes:
    return struct.pack("<i", v)


def i64(v: int) -> bytes:
    return struct.pack("<q", v)


def borsh_string(s: str) -> bytes:
    raw = s.encode()
    return u32(len(raw)) + raw


def option(value: Any, encode: Callable[[Any], bytes]) -> bytes:
    """Borsh Option<T>: 0x00, or 0x01 followed by T."""
    return b"\x00" if value is None else b"\x01" + encode(value)


def hexdata(data: bytes) -> dict[str, Any]:
    return {
        "hex": data.hex(),
        "bytes": list(data),
        "len": len(data),
        "base64": base64.b64encode(data).decode(),
    }


def disc_entry(disc: bytes) -> dict[str, Any]:
    return {"hex": disc.hex(), "bytes": list(disc)}


# -- well-known programs and accounts -----------------------------------------------------------------------

PUMP = pk("6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P")
PUMP_FEES = pk("pfeeUxB6jkeY1Hxd7CsFCAjcbHA9rWtchMGdZ6VojVZ")
PUMP_AMM = pk("pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA")
MAYHEM = pk("MAyhSmzXzV1pTf7LsNkrNwkWKTo4ougAJ1PPg47MD4e")
SPL_TOKEN = pk("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022 = pk("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ATA_PROGRAM = pk("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
SYSTEM = pk("11111111111111111111111111111111")
MPL_METADATA = pk("metaqbxxUerdq28cj1RbAWkYQm3ybzjb6a8bt518x1s")
RENT_SYSVAR = pk("SysvarRent111111111111111111111111111111111")
RECENT_BLOCKHASHES_SYSVAR = pk("SysvarRecentB1ockHashes11111111111111111111")
WSOL = pk("So11111111111111111111111111111111111111112")
USDC = pk("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
DRIFT = pk("dRiftyHA39MWEi3m9aunc5MzRF1JYuBsbn6VPcn33UH")
COMPUTE_BUDGET = pk("ComputeBudget111111111111111111111111111111")
JUPITER = pk("JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4")
MEMO = pk("MemoSq4gqABAXKb96qnH1TysNcWxMyWCqXgDLGmfcHr")

# Program ids as the IDL spells them, byte for byte (`"kind": "const"` seeds / `program` values).
IDL_CONST_PROGRAMS = {
    "associated_token_program": (
        ATA_PROGRAM,
        [
            140,
            151,
            37,
            143,
            78,
            36,
            137,
            241,
            187,
            61,
            16,
            41,
            20,
            142,
            13,
            131,
            11,
            90,
            19,
            153,
            218,
            255,
            16,
            132,
            4,
            142,
            123,
            216,
            219,
            233,
            248,
            89,
        ],
    ),
    "pump_fees": (
        PUMP_FEES,
        [
            12,
            53,
            255,
            169,
            5,
            90,
            142,
            86,
            141,
            168,
            247,
            188,
            7,
            86,
            21,
            39,
            76,
            241,
            201,
            44,
            164,
            31,
            64,
            0,
            156,
            81,
            106,
            164,
            20,
            194,
            124,
            112,
        ],
    ),
    "pump (fee_config seed)": (
        PUMP,
        [
            1,
            86,
            224,
            246,
            147,
            102,
            90,
            207,
            68,
            219,
            21,
            104,
            191,
            23,
            91,
            170,
            81,
            137,
            203,
            151,
            245,
            210,
            255,
            59,
            101,
            93,
            43,
            182,
            253,
            109,
            24,
            176,
        ],
    ),
    "spl_token (create's ATA seed)": (
        SPL_TOKEN,
        [
            6,
            221,
            246,
            225,
            215,
            101,
            161,
            147,
            217,
            203,
            225,
            70,
            206,
            235,
            121,
            172,
            28,
            180,
            133,
            237,
            95,
            91,
            55,
            145,
            58,
            140,
            245,
            133,
            126,
            255,
            0,
            169,
        ],
    ),
    "mpl_token_metadata": (
        MPL_METADATA,
        [
            11,
            112,
            101,
            177,
            227,
            209,
            124,
            69,
            56,
            157,
            82,
            127,
            107,
            4,
            195,
            205,
            88,
            184,
            108,
            115,
            26,
            160,
            253,
            181,
            73,
            182,
            209,
            188,
            3,
            248,
            41,
            70,
        ],
    ),
    "mayhem": (
        MAYHEM,
        [
            5,
            42,
            229,
            215,
            167,
            218,
            167,
            36,
            166,
            234,
            176,
            167,
            41,
            84,
            145,
            133,
            90,
            212,
            160,
            103,
            22,
            96,
            103,
            76,
            78,
            3,
            69,
            89,
            128,
            61,
            101,
            163,
        ],
    ),
}

# Fee recipients. Normal: docs/PUMP_PROGRAM_README.md (Global.fee_recipient + fee_recipients[7]) = the SDK's
# CURRENT_FEE_RECIPIENTS. Buyback: the SDK's CURRENT_FEE_RECIPIENTS_FOR_BUYBACK
# (Global.buyback_fee_recipients[8]).
FEE_RECIPIENTS = [
    pk(a)
    for a in (
        "62qc2CNXwrYqQScmEdiZFFAnJR262PxWEuNQtxfafNgV",
        "7VtfL8fvgNfhz17qKRMjzQEXgbdpnHHHQRh54R9jP2RJ",
        "7hTckgnGnLQR6sdH7YkqFTAA7VwTfYFaZ6EhEsU3saCX",
        "9rPYyANsfQZw3DnDmKE3YCQF5E8oD89UXoHn9JFEhJUz",
        "AVmoTthdrX6tKt4nDjco2D775W2YK3sDhxPcMmzUAmTY",
        "CebN5WGQ4jvEPvsVU4EoHEpgzq1VV7AbicfhtW4xC9iM",
        "FWsW1xNtWscwNmKv6wVsU1iTzRN6wmmk3MjxRP5tT7hz",
        "G5UZAVbAf46s7cKWoyKu8kYTip9DGTpbLZ2qa9Aq69dP",
    )
]
BUYBACK_FEE_RECIPIENTS = [
    pk(a)
    for a in (
        "5YxQFdt3Tr9zJLvkFccqXVUwhdTWJQc1fFg2YPbxvxeD",
        "9M4giFFMxmFGXtc3feFzRai56WbBqehoSeRE5GK7gf7",
        "GXPFM2caqTtQYC2cJ5yJRi9VDkpsYZXzYdwYpGnLmtDL",
        "3BpXnfJaUTiwXnJNe7Ej1rcbzqTTQUvLShZaWazebsVR",
        "5cjcW9wExnJJiqgLjq7DEG75Pm6JBgE1hNv4B2vHXUW6",
        "EHAAiTxcdDwQ3U4bU6YcMsQGaekdzLS3B5SmYo46kJtL",
        "5eHhjP8JaYkz83CWwvGU2uMUXefd3AazWGx4gpcuEEYD",
        "A7hAgCzFw14fejgCp387JUJRMNyz4j89JKnhtKU8piqW",
    )
]
# Reserved (mayhem-mode) recipients = Global.reserved_fee_recipient + reserved_fee_recipients[7]. No official
# file in reach lists them (docs/FEE_RECIPIENTS.md is not stored); these eight are the ones several
# independent public integrations agree on. The builder must read them from the Global account,
# not from this list.
RESERVED_FEE_RECIPIENTS = [
    pk(a)
    for a in (
        "GesfTA3X2arioaHp8bbKdjG9vJtskViWACZoYvxp4twS",
        "4budycTjhs9fD6xw62VBducVTNgMgJJ5BgtKq7mAZwn6",
        "8SBKzEQU4nLSzcwF4a74F2iaUDQyTfjGndn6qUWBnrpR",
        "4UQeTP1T39KZ9Sfxzo3WR5skgsaP6NZa87BAkuazLEKH",
        "8sNeir4QsLsJdYpc9RZacohhK1Y5FLU3nC5LXgYB4aa6",
        "Fh9HmeLNUMVCvejxCtCL2DbYaRyBFVJ5xrWkLnMH6fdk",
        "463MEnMeGyJekNZFQSTUABBEbLnvMTALbT6ZmsxAbAdq",
        "6AUH3WEHucYZyC61hqpqYUWVto5qA5hjHuNQ32GNnNxA",
    )
]

JITO_TIP_ACCOUNTS = [
    "96gYZGLnJYVFmbjzopPSU6QiEV5fGqZNyN9nmNhvrZU5",
    "HFqU5x63VTqvQss8hp11i4wVV8bD44PvwucfZ2bU7gRe",
    "Cw8CFyM9FkoMi7K7Crf6HNQqf4uEMzpKw6QNghXLvLkY",
    "ADaUMid9yfUytqMBgopwjb2DTLSokTSzL1zt6iGPaS49",
    "DfXygSm4jCyNCybVYYK6DwvWqjKee8pbDmJGcLWNDXjh",
    "ADuUkR4vqLUMWXxW9gh6D6L8pMSawimctcNZ5pGwDcEt",
    "DttWaMuVvTiduZRnguLF7jNxTgiMBZ1hyAumKUiL2KRL",
    "3AVi9Tg9Uo68tJfuvoKvqKNWKkC5wPdSSdeBnizKZ6jT",
]

# Example keys every vector uses.
USER = example_key(1)
MINT = example_key(2)
CREATOR = example_key(3)
PUMP_COIN_QUOTE = example_key(4)  # a pump coin used as another coin's quote (Token-2022)
FEE_RECIPIENT = FEE_RECIPIENTS[0]
RESERVED_FEE_RECIPIENT = RESERVED_FEE_RECIPIENTS[0]
BUYBACK = BUYBACK_FEE_RECIPIENTS[0]


def ata(owner: Pubkey, token_program: Pubkey, mint: Pubkey) -> Pubkey:
    """Associated token account: seeds [owner, token_program, mint] under the ATA program."""
    return pda([bytes(owner), bytes(token_program), bytes(mint)], ATA_PROGRAM)


GLOBAL = pda([b"global"], PUMP)
EVENT_AUTHORITY = pda([b"__event_authority"], PUMP)
GLOBAL_VOLUME_ACCUMULATOR = pda([b"global_volume_accumulator"], PUMP)
MINT_AUTHORITY = pda([b"mint-authority"], PUMP)
QUOTE_CONTROL = pda([b"quote-control"], PUMP)
FEE_CONFIG = pda([b"fee_config", bytes(PUMP)], PUMP_FEES)


def bonding_curve(mint: Pubkey) -> Pubkey:
    return pda([b"bonding-curve", bytes(mint)], PUMP)


def bonding_curve_v2(mint: Pubkey) -> Pubkey:
    return pda([b"bonding-curve-v2", bytes(mint)], PUMP)


def creator_vault(creator: Pubkey) -> Pubkey:
    return pda([b"creator-vault", bytes(creator)], PUMP)


def user_volume_accumulator(user: Pubkey) -> Pubkey:
    return pda([b"user_volume_accumulator", bytes(user)], PUMP)


def sharing_config(mint: Pubkey) -> Pubkey:
    return pda([b"sharing-config", bytes(mint)], PUMP_FEES)


def metadata(mint: Pubkey) -> Pubkey:
    return pda([b"metadata", bytes(MPL_METADATA), bytes(mint)], MPL_METADATA)


MAYHEM_GLOBAL_PARAMS = pda([b"global-params"], MAYHEM)
MAYHEM_SOL_VAULT = pda([b"sol-vault"], MAYHEM)


def mayhem_state(mint: Pubkey) -> Pubkey:
    return pda([b"mayhem-state", bytes(mint)], MAYHEM)


# -- Pump.fun: coins, account lists, data ------------------------------------------------------------------


@dataclass(frozen=True)
class Coin:
    kind: str
    base_token_program: Pubkey
    quote_mint: Pubkey  # WSOL for SOL-paired coins (the curve itself stores Pubkey::default())
    quote_token_program: Pubkey
    mayhem: bool = False
    cashback: bool = False

    @property
    def sol_paired(self) -> bool:
        return self.quote_mint == WSOL

    @property
    def fee_recipient(self) -> Pubkey:
        return RESERVED_FEE_RECIPIENT if self.mayhem else FEE_RECIPIENT


TOKEN_PROGRAMS = {"spl_token": SPL_TOKEN, "token_2022": TOKEN_2022}


def coin(kind: str, base_tp: Pubkey) -> Coin:
    return {
        "sol_paired": Coin(kind, base_tp, WSOL, SPL_TOKEN),
        "usdc_paired": Coin(kind, base_tp, USDC, SPL_TOKEN),
        "pump_coin_paired": Coin(kind, base_tp, PUMP_COIN_QUOTE, TOKEN_2022),
        "mayhem": Coin(kind, base_tp, WSOL, SPL_TOKEN, mayhem=True),
        "cashback": Coin(kind, base_tp, WSOL, SPL_TOKEN, cashback=True),
    }[kind]


COIN_KINDS = ("sol_paired", "usdc_paired", "pump_coin_paired", "mayhem", "cashback")
ONLY_CREATE_V2 = (
    "no such coin: non-SOL-quote, mayhem and cashback coins are created only by create_v2 (Token-2022)"
)

Row = tuple[str, Pubkey, bool, bool, str]  # name, key, writable, signer, where it comes from


def metas(rows: list[Row]) -> list[dict[str, Any]]:
    return [
        {"index": i, "name": n, "pubkey": str(k), "is_writable": w, "is_signer": s, "origin": o}
        for i, (n, k, w, s, o) in enumerate(rows)
    ]


def legacy_buy_rows(c: Coin) -> list[Row]:
    """`buy` / `buy_exact_sol_in`: the IDL's 16 accounts, then bonding_curve_v2 and a buyback recipient."""
    bc, tp = bonding_curve(MINT), c.base_token_program
    return [
        ("global", GLOBAL, False, False, "idl"),
        ("fee_recipient", c.fee_recipient, True, False, "idl"),
        ("mint", MINT, False, False, "idl"),
        ("bonding_curve", bc, True, False, "idl"),
        ("associated_bonding_curve", ata(bc, tp, MINT), True, False, "idl"),
        ("associated_user", ata(USER, tp, MINT), True, False, "idl"),
        ("user", USER, True, True, "idl"),
        ("system_program", SYSTEM, False, False, "idl"),
        ("token_program", tp, False, False, "idl"),
        ("creator_vault", creator_vault(CREATOR), True, False, "idl"),
        ("event_authority", EVENT_AUTHORITY, False, False, "idl"),
        ("program", PUMP, False, False, "idl"),
        ("global_volume_accumulator", GLOBAL_VOLUME_ACCUMULATOR, False, False, "idl"),
        ("user_volume_accumulator", user_volume_accumulator(USER), True, False, "idl"),
        ("fee_config", FEE_CONFIG, False, False, "idl"),
        ("fee_program", PUMP_FEES, False, False, "idl"),
        ("bonding_curve_v2", bonding_curve_v2(MINT), False, False, "remaining: sdk getBuyInstructionRaw"),
        ("buyback_fee_recipient", BUYBACK, True, False, "remaining: sdk getBuyInstructionRaw"),
    ]


def legacy_sell_rows(c: Coin) -> list[Row]:
    """`sell`: 14 IDL accounts (creator_vault before token_program), then the remaining accounts."""
    bc, tp = bonding_curve(MINT), c.base_token_program
    rows: list[Row] = [
        ("global", GLOBAL, False, False, "idl"),
        ("fee_recipient", c.fee_recipient, True, False, "idl"),
        ("mint", MINT, False, False, "idl"),
        ("bonding_curve", bc, True, False, "idl"),
        ("associated_bonding_curve", ata(bc, tp, MINT), True, False, "idl"),
        ("associated_user", ata(USER, tp, MINT), True, False, "idl"),
        ("user", USER, True, True, "idl"),
        ("system_program", SYSTEM, False, False, "idl"),
        ("creator_vault", creator_vault(CREATOR), True, False, "idl"),
        ("token_program", tp, False, False, "idl"),
        ("event_authority", EVENT_AUTHORITY, False, False, "idl"),
        ("program", PUMP, False, False, "idl"),
        ("fee_config", FEE_CONFIG, False, False, "idl"),
        ("fee_program", PUMP_FEES, False, False, "idl"),
    ]
    if c.cashback:
        rows.append(
            (
                "user_volume_accumulator",
                user_volume_accumulator(USER),
                True,
                False,
                "remaining: idl sell docs [0] + sdk getSellInstructionRaw(cashback)",
            )
        )
    rows += [
        ("bonding_curve_v2", bonding_curve_v2(MINT), False, False, "remaining: sdk getSellInstructionRaw"),
        ("buyback_fee_recipient", BUYBACK, True, False, "remaining: sdk getSellInstructionRaw"),
    ]
    return rows


def v2_rows(c: Coin, *, buy: bool) -> list[Row]:
    """`buy_v2` / `buy_exact_quote_in_v2` (27) and `sell_v2` (26, no global_volume_accumulator)."""
    bc, btp, q, qtp = bonding_curve(MINT), c.base_token_program, c.quote_mint, c.quote_token_program
    cv, uva = creator_vault(CREATOR), user_volume_accumulator(USER)
    rows: list[Row] = [
        ("global", GLOBAL, False, False, "idl"),
        ("base_mint", MINT, False, False, "idl"),
        ("quote_mint", q, False, False, "idl"),
        ("base_token_program", btp, False, False, "idl"),
        ("quote_token_program", qtp, False, False, "idl"),
        ("associated_token_program", ATA_PROGRAM, False, False, "idl"),
        ("fee_recipient", c.fee_recipient, True, False, "idl"),
        ("associated_quote_fee_recipient", ata(c.fee_recipient, qtp, q), True, False, "idl"),
        ("buyback_fee_recipient", BUYBACK, True, False, "idl"),
        ("associated_quote_buyback_fee_recipient", ata(BUYBACK, qtp, q), True, False, "idl"),
        ("bonding_curve", bc, True, False, "idl"),
        ("associated_base_bonding_curve", ata(bc, btp, MINT), True, False, "idl"),
        ("associated_quote_bonding_curve", ata(bc, qtp, q), True, False, "idl"),
        ("user", USER, True, True, "idl"),
        ("associated_base_user", ata(USER, btp, MINT), True, False, "idl"),
        ("associated_quote_user", ata(USER, qtp, q), True, False, "idl"),
        ("creator_vault", cv, True, False, "idl"),
        ("associated_creator_vault", ata(cv, qtp, q), True, False, "idl"),
        ("sharing_config", sharing_config(MINT), False, False, "idl"),
    ]
    if buy:
        rows.append(("global_volume_accumulator", GLOBAL_VOLUME_ACCUMULATOR, False, False, "idl"))
    rows += [
        ("user_volume_accumulator", uva, True, False, "idl"),
        ("associated_user_volume_accumulator", ata(uva, qtp, q), True, False, "idl"),
        ("fee_config", FEE_CONFIG, False, False, "idl"),
        ("fee_program", PUMP_FEES, False, False, "idl"),
        ("system_program", SYSTEM, False, False, "idl"),
        ("event_authority", EVENT_AUTHORITY, False, False, "idl"),
        ("program", PUMP, False, False, "idl"),
    ]
    return rows


def v3_rows(c: Coin) -> list[Row]:
    """`buy_v3`, `buy_exact_quote_in_v3`, `sell_v3`: the same 17 accounts (TRADE_V3.md)."""
    bc, btp, q, qtp = bonding_curve(MINT), c.base_token_program, c.quote_mint, c.quote_token_program
    buyback = BUYBACK if c.sol_paired else ata(BUYBACK, qtp, q)
    return [
        ("global", GLOBAL, False, False, "idl"),
        ("base_mint", MINT, False, False, "idl"),
        ("quote_mint", q, False, False, "idl"),
        ("base_token_program", btp, False, False, "idl"),
        ("quote_token_program", qtp, False, False, "idl"),
        ("bonding_curve", bc, True, False, "idl"),
        ("associated_base_bonding_curve", ata(bc, btp, MINT), True, False, "idl"),
        ("associated_quote_bonding_curve", ata(bc, qtp, q), True, False, "idl"),
        ("user", USER, True, True, "idl"),
        ("associated_base_user", ata(USER, btp, MINT), True, False, "idl"),
        ("associated_quote_user", ata(USER, qtp, q), True, False, "idl"),
        ("user_volume_accumulator", user_volume_accumulator(USER), True, False, "idl"),
        ("fee_config", FEE_CONFIG, False, False, "idl"),
        (
            "buyback_fee_recipient",
            buyback,
            True,
            False,
            "idl; TRADE_V3.md: the wallet for SOL-paired coins, its quote ATA otherwise",
        ),
        ("system_program", SYSTEM, False, False, "idl"),
        ("event_authority", EVENT_AUTHORITY, False, False, "idl"),
        ("program", PUMP, False, False, "idl"),
    ]


def create_rows() -> list[Row]:
    bc = bonding_curve(MINT)
    return [
        ("mint", MINT, True, True, "idl"),
        ("mint_authority", MINT_AUTHORITY, False, False, "idl"),
        ("bonding_curve", bc, True, False, "idl"),
        ("associated_bonding_curve", ata(bc, SPL_TOKEN, MINT), True, False, "idl"),
        ("global", GLOBAL, False, False, "idl"),
        ("mpl_token_metadata", MPL_METADATA, False, False, "idl"),
        ("metadata", metadata(MINT), True, False, "idl"),
        ("user", USER, True, True, "idl"),
        ("system_program", SYSTEM, False, False, "idl"),
        ("token_program", SPL_TOKEN, False, False, "idl"),
        ("associated_token_program", ATA_PROGRAM, False, False, "idl"),
        ("rent", RENT_SYSVAR, False, False, "idl"),
        ("event_authority", EVENT_AUTHORITY, False, False, "idl"),
        ("program", PUMP, False, False, "idl"),
    ]


def create_v2_rows(c: Coin) -> list[Row]:
    bc = bonding_curve(MINT)
    rows: list[Row] = [
        ("mint", MINT, True, True, "idl"),
        ("mint_authority", MINT_AUTHORITY, False, False, "idl"),
        ("bonding_curve", bc, True, False, "idl"),
        ("associated_bonding_curve", ata(bc, TOKEN_2022, MINT), True, False, "idl"),
        ("global", GLOBAL, False, False, "idl"),
        ("user", USER, True, True, "idl"),
        ("system_program", SYSTEM, False, False, "idl"),
        ("token_program", TOKEN_2022, False, False, "idl"),
        ("associated_token_program", ATA_PROGRAM, False, False, "idl"),
        ("mayhem_program_id", MAYHEM, True, False, "idl"),
        ("global_params", MAYHEM_GLOBAL_PARAMS, False, False, "idl"),
        ("sol_vault", MAYHEM_SOL_VAULT, True, False, "idl"),
        ("mayhem_state", mayhem_state(MINT), True, False, "idl"),
        (
            "mayhem_token_vault",
            ata(MAYHEM_SOL_VAULT, TOKEN_2022, MINT),
            True,
            False,
            "idl; COIN_CREATION.md: ATA of sol_vault under Token-2022",
        ),
        ("event_authority", EVENT_AUTHORITY, False, False, "idl"),
        ("program", PUMP, False, False, "idl"),
    ]
    if not c.sol_paired:
        rows += [
            ("quote_mint", c.quote_mint, False, False, "remaining [0]: COIN_CREATION.md / sdk"),
            (
                "associated_quote_bonding_curve",
                ata(bc, c.quote_token_program, c.quote_mint),
                True,
                False,
                "remaining [1]",
            ),
            ("quote_token_program", c.quote_token_program, False, False, "remaining [2]"),
            ("quote_control", QUOTE_CONTROL, False, False, "remaining [3]: sdk always sends it (optional)"),
        ]
    return rows


def option_bool(v: bool) -> bytes:
    return u8(int(v))  # the IDL's OptionBool/OptionU64 are one-field structs: no Option tag


PUMP_IX: dict[str, list[int]] = {  # discriminators as the IDL gives them
    "buy": [102, 6, 61, 18, 1, 218, 235, 234],
    "sell": [51, 230, 133, 164, 1, 127, 131, 173],
    "buy_exact_sol_in": [56, 252, 116, 8, 158, 223, 205, 95],
    "buy_v2": [184, 23, 238, 97, 103, 197, 211, 61],
    "sell_v2": [93, 246, 130, 60, 231, 233, 64, 178],
    "buy_exact_quote_in_v2": [194, 171, 28, 70, 104, 77, 91, 47],
    "buy_v3": [7, 5, 29, 196, 245, 23, 101, 80],
    "sell_v3": [28, 146, 222, 119, 38, 196, 105, 213],
    "buy_exact_quote_in_v3": [225, 247, 80, 30, 213, 179, 132, 136],
    "create": [24, 30, 200, 40, 5, 28, 7, 119],
    "create_v2": [214, 144, 76, 236, 95, 139, 49, 180],
    "claim_cashback": [37, 58, 35, 126, 190, 53, 228, 197],
}
PUMP_EVENTS = {
    "TradeEvent": [189, 219, 127, 211, 78, 230, 97, 238],
    "CreateEvent": [27, 114, 169, 77, 222, 235, 99, 118],
    "CompleteEvent": [95, 114, 97, 156, 212, 46, 152, 8],
    "PostCompleteBuyEvent": [111, 176, 109, 139, 49, 108, 213, 251],
    "SweepBondingCurveFeeEvent": [116, 43, 77, 189, 17, 122, 72, 43],
}
PUMP_ACCOUNTS = {
    "BondingCurve": [23, 183, 248, 55, 96, 216, 172, 96],
    "Global": [167, 232, 232, 177, 200, 108, 114, 127],
    "FeeConfig": [143, 52, 146, 187, 219, 123, 76, 155],
    "UserVolumeAccumulator": [86, 255, 112, 14, 102, 53, 154, 250],
    "GlobalVolumeAccumulator": [202, 42, 246, 43, 142, 190, 30, 255],
    "SharingConfig": [216, 74, 9, 0, 56, 140, 93, 75],
}


def d(name: str) -> bytes:
    return bytes(PUMP_IX[name])


AMOUNT, MAX_COST, MIN_OUT, SPEND = 1_000_000_000, 50_000_000, 30_000_000, 50_000_000


def pump_data(name: str) -> tuple[dict[str, Any], bytes]:
    """The instruction data for fixed example arguments, in IDL argument order."""
    args: dict[str, Any]
    if name == "buy":
        args = {"amount": AMOUNT, "max_sol_cost": MAX_COST, "track_volume": True}
        return args, d(name) + u64(AMOUNT) + u64(MAX_COST) + option_bool(True)
    if name == "buy_exact_sol_in":
        args = {"spendable_sol_in": SPEND, "min_tokens_out": AMOUNT, "track_volume": True}
        return args, d(name) + u64(SPEND) + u64(AMOUNT) + option_bool(True)
    if name in ("sell", "sell_v2", "sell_v3"):
        return {"amount": AMOUNT, "min_sol_output": MIN_OUT}, d(name) + u64(AMOUNT) + u64(MIN_OUT)
    if name in ("buy_v2", "buy_v3"):
        return {"amount": AMOUNT, "max_sol_cost": MAX_COST}, d(name) + u64(AMOUNT) + u64(MAX_COST)
    if name in ("buy_exact_quote_in_v2", "buy_exact_quote_in_v3"):
        return ({"spendable_quote_in": SPEND, "min_tokens_out": AMOUNT}, d(name) + u64(SPEND) + u64(AMOUNT))
    name_, symbol, uri = "Example", "EX", "ipfs://example/ex.json"
    base = borsh_string(name_) + borsh_string(symbol) + borsh_string(uri) + bytes(CREATOR)
    args = {"name": name_, "symbol": symbol, "uri": uri, "creator": str(CREATOR)}
    if name == "create":
        return args, d(name) + base
    raise KeyError(name)


def create_v2_data(mayhem: bool) -> tuple[dict[str, Any], bytes]:
    args, _ = pump_data("create")
    args.update(
        {
            "is_mayhem_mode": mayhem,
            "is_cashback_enabled": False,
            "creator_fee_bps": 0,
            "is_holder_reward": False,
        }
    )
    _, create = pump_data("create")
    return args, d("create_v2") + create[8:] + u8(int(mayhem)) + option_bool(False) + u64(0) + option_bool(
        False
    )


def pump_instruction_vectors() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    builders: dict[str, Callable[[Coin], list[Row]]] = {
        "buy": legacy_buy_rows,
        "buy_exact_sol_in": legacy_buy_rows,
        "sell": legacy_sell_rows,
        "buy_v2": lambda c: v2_rows(c, buy=True),
        "buy_exact_quote_in_v2": lambda c: v2_rows(c, buy=True),
        "sell_v2": lambda c: v2_rows(c, buy=False),
        "buy_v3": v3_rows,
        "buy_exact_quote_in_v3": v3_rows,
        "sell_v3": v3_rows,
    }
    for name, build in builders.items():
        for tp_name, tp in TOKEN_PROGRAMS.items():
            for kind in COIN_KINDS:
                c = coin(kind, tp)
                entry: dict[str, Any] = {
                    "instruction": name,
                    "base_token_program": tp_name,
                    "coin_kind": kind,
                    "quote_mint": str(c.quote_mint),
                    "quote_token_program": str(c.quote_token_program),
                }
                reason = None
                if tp == SPL_TOKEN and kind != "sol_paired":
                    reason = ONLY_CREATE_V2
                elif name in ("buy", "sell", "buy_exact_sol_in") and not c.sol_paired:
                    reason = (
                        "legacy instructions trade SOL-paired coins only (README: USDC-paired coins need v2)"
                    )
                elif name.endswith("_v3") and c.cashback:
                    reason = "v3 trades fail on cashback coins: CashbackCoinNotSupported (6094); use v2"
                entry["supported"] = reason is None
                if reason:
                    entry["reason"] = reason
                    out.append(entry)
                    continue
                args, data = pump_data(name)
                rows = build(c)
                entry.update(
                    {
                        "program_id": str(PUMP),
                        "args": args,
                        "data": hexdata(data),
                        "account_count": len(rows),
                        "accounts": metas(rows),
                    }
                )
                out.append(entry)
    out.append(_create_vector())
    for kind in COIN_KINDS:
        out.append(_create_v2_vector(kind))
    return out


def _create_vector() -> dict[str, Any]:
    args, data = pump_data("create")
    rows = create_rows()
    return {
        "instruction": "create",
        "base_token_program": "spl_token",
        "coin_kind": "sol_paired",
        "supported": True,
        "program_id": str(PUMP),
        "args": args,
        "data": hexdata(data),
        "account_count": len(rows),
        "accounts": metas(rows),
    }


def _create_v2_vector(kind: str) -> dict[str, Any]:
    c = coin(kind, TOKEN_2022)
    entry: dict[str, Any] = {
        "instruction": "create_v2",
        "base_token_program": "token_2022",
        "coin_kind": kind,
    }
    if c.cashback:
        entry.update(
            {"supported": False, "reason": "is_cashback_enabled is deprecated: CashbackDeprecated (6082)"}
        )
        return entry
    args, data = create_v2_data(c.mayhem)
    rows = create_v2_rows(c)
    entry.update(
        {
            "supported": True,
            "program_id": str(PUMP),
            "args": args,
            "data": hexdata(data),
            "account_count": len(rows),
            "accounts": metas(rows),
        }
    )
    return entry


GLOBAL_FIELDS: list[tuple[str, int]] = [  # idl/pump.json `Global`, in order, with sizes
    ("initialized", 1),
    ("authority", 32),
    ("fee_recipient", 32),
    ("initial_virtual_token_reserves", 8),
    ("initial_virtual_sol_reserves", 8),
    ("initial_real_token_reserves", 8),
    ("token_total_supply", 8),
    ("fee_basis_points", 8),
    ("withdraw_authority", 32),
    ("enable_migrate", 1),
    ("pool_migration_fee", 8),
    ("creator_fee_basis_points", 8),
    ("fee_recipients[7]", 224),
    ("set_creator_authority", 32),
    ("admin_set_creator_authority", 32),
    ("create_v2_enabled", 1),
    ("whitelist_pda", 32),
    ("reserved_fee_recipient", 32),
    ("mayhem_mode_enabled", 1),
    ("reserved_fee_recipients[7]", 224),
    ("is_cashback_enabled", 1),
    ("buyback_fee_recipients[8]", 256),
    ("buyback_basis_points", 8),
    ("initial_virtual_quote_reserves", 8),
    ("whitelisted_quote_mints[1]", 32),
    ("creator_fee_configurable", 1),
    ("max_configurable_creator_fee_bps", 8),
    ("holder_reward_claim_authority", 32),
    ("is_holder_reward_enabled", 1),
    ("max_curve_depth", 1),
]


def global_offsets() -> list[dict[str, Any]]:
    out, off = [], 8
    for name, size in GLOBAL_FIELDS:
        out.append({"name": name, "offset": off, "size": size})
        off += size
    assert off == 1088  # sdk 2.0 GLOBAL_SIZE 1087 + max_curve_depth; live account 1045/1054 B until extended
    return out


def pump_constants() -> dict[str, Any]:
    for label, (key, raw) in IDL_CONST_PROGRAMS.items():
        assert bytes(raw) == bytes(key), label
    checks = {
        "global": (GLOBAL, "4wTV1YmiEkRvAtNtsSGPtUrqRYQMe5SKy2uB4Jjaxnjf"),
        "event_authority": (EVENT_AUTHORITY, "Ce6TQqeHC9p8KetsN6JsjHK7UTZk7nasjjnr7XxXp9F1"),
        "fee_config": (FEE_CONFIG, "8Wf5TiAheLUqBrKXeYg2JtAFFMWtKdG2BSFgqUcPVwTt"),
    }
    for label, (key, expected) in checks.items():
        assert str(key) == expected, (label, key)
    ix = {}
    for name, raw in PUMP_IX.items():
        assert anchor_disc("global", name) == bytes(raw), name
        ix[name] = disc_entry(bytes(raw))
    events = {}
    for name, raw in PUMP_EVENTS.items():
        assert anchor_disc("event", name) == bytes(raw), name
        events[name] = disc_entry(bytes(raw))
    accounts = {}
    for name, raw in PUMP_ACCOUNTS.items():
        assert anchor_disc("account", name) == bytes(raw), name
        accounts[name] = disc_entry(bytes(raw))
    cpi_tag = hashlib.sha256(b"anchor:event").digest()[:8][::-1]
    pdas = {
        "global": {"seeds": ["global"], "program": str(PUMP), "address": str(GLOBAL)},
        "event_authority": {
            "seeds": ["__event_authority"],
            "program": str(PUMP),
            "address": str(EVENT_AUTHORITY),
        },
        "global_volume_accumulator": {
            "seeds": ["global_volume_accumulator"],
            "program": str(PUMP),
            "address": str(GLOBAL_VOLUME_ACCUMULATOR),
        },
        "mint_authority": {"seeds": ["mint-authority"], "program": str(PUMP), "address": str(MINT_AUTHORITY)},
        "quote_control": {"seeds": ["quote-control"], "program": str(PUMP), "address": str(QUOTE_CONTROL)},
        "fee_config": {
            "seeds": ["fee_config", "<pump program id bytes>"],
            "program": str(PUMP_FEES),
            "address": str(FEE_CONFIG),
        },
        "bonding_curve(mint)": {
            "seeds": ["bonding-curve", "<mint>"],
            "program": str(PUMP),
            "address": str(bonding_curve(MINT)),
        },
        "bonding_curve_v2(mint)": {
            "seeds": ["bonding-curve-v2", "<mint>"],
            "program": str(PUMP),
            "address": str(bonding_curve_v2(MINT)),
        },
        "creator_vault(creator)": {
            "seeds": ["creator-vault", "<bonding_curve.creator>"],
            "program": str(PUMP),
            "address": str(creator_vault(CREATOR)),
        },
        "user_volume_accumulator(user)": {
            "seeds": ["user_volume_accumulator", "<user>"],
            "program": str(PUMP),
            "address": str(user_volume_accumulator(USER)),
        },
        "sharing_config(mint)": {
            "seeds": ["sharing-config", "<mint>"],
            "program": str(PUMP_FEES),
            "address": str(sharing_config(MINT)),
        },
        "metadata(mint)": {
            "seeds": ["metadata", "<mpl program id>", "<mint>"],
            "program": str(MPL_METADATA),
            "address": str(metadata(MINT)),
        },
        "mayhem global_params": {
            "seeds": ["global-params"],
            "program": str(MAYHEM),
            "address": str(MAYHEM_GLOBAL_PARAMS),
        },
        "mayhem sol_vault": {
            "seeds": ["sol-vault"],
            "program": str(MAYHEM),
            "address": str(MAYHEM_SOL_VAULT),
        },
        "mayhem_state(mint)": {
            "seeds": ["mayhem-state", "<mint>"],
            "program": str(MAYHEM),
            "address": str(mayhem_state(MINT)),
        },
        "associated token account": {
            "seeds": ["<owner>", "<token program>", "<mint>"],
            "program": str(ATA_PROGRAM),
            "example": {
                "owner": str(USER),
                "token_program": str(TOKEN_2022),
                "mint": str(MINT),
                "address": str(ata(USER, TOKEN_2022, MINT)),
            },
        },
    }
    return {
        "source": source("pump_idl", "pump_program_readme", "pump_sdk", "pump_trade_v3"),
        "example_keys": {
            "user": str(USER),
            "mint": str(MINT),
            "creator": str(CREATOR),
            "pump_coin_quote_mint": str(PUMP_COIN_QUOTE),
            "fee_recipient": str(FEE_RECIPIENT),
            "reserved_fee_recipient": str(RESERVED_FEE_RECIPIENT),
            "buyback_fee_recipient": str(BUYBACK),
            "derivation": "Keypair.from_seed(bytes([n]) * 32).pubkey(): user n=1, mint 2, creator 3, "
            "pump-coin quote 4",
        },
        "programs": {
            "pump": str(PUMP),
            "pump_fees": str(PUMP_FEES),
            "pump_amm": str(PUMP_AMM),
            "mayhem": str(MAYHEM),
            "spl_token": str(SPL_TOKEN),
            "token_2022": str(TOKEN_2022),
            "associated_token": str(ATA_PROGRAM),
            "mpl_token_metadata": str(MPL_METADATA),
        },
        "pdas": pdas,
        "global_account_offsets": global_offsets(),
        "instruction_discriminators": ix,
        "event_discriminators": events,
        "account_discriminators": accounts,
        "event_cpi_tag": {
            "hex": cpi_tag.hex(),
            "note": "sha256('anchor:event')[:8] reversed; emit_cpi inner "
            "instruction data = tag + event discriminator + payload",
        },
        "fee_recipients": {
            "normal": [str(k) for k in FEE_RECIPIENTS],
            "normal_source": "docs/PUMP_PROGRAM_README.md Global.fee_recipient + fee_recipients; sdk "
            "CURRENT_FEE_RECIPIENTS",
            "buyback": [str(k) for k in BUYBACK_FEE_RECIPIENTS],
            "buyback_source": "sdk 2.0.0 src/bondingCurve.ts CURRENT_FEE_RECIPIENTS_FOR_BUYBACK "
            "(= Global.buyback_fee_recipients)",
            "reserved_mayhem": [str(k) for k in RESERVED_FEE_RECIPIENTS],
            "reserved_source": "NOT from an official file in reach (docs/FEE_RECIPIENTS.md not stored); "
            "agreed by "
            "several public integrations. Read Global.reserved_fee_recipient + "
            "reserved_fee_recipients at start-up instead (sdk fees.ts getFeeRecipient does).",
        },
    }


# -- Pump.fun events and the BondingCurve account ----------------------------------------------------------

TRADE_FIELDS: list[tuple[str, str, Any]] = [  # name, type, example value
    ("mint", "pubkey", MINT),
    ("sol_amount", "u64", 1_234_567_890),
    ("token_amount", "u64", 35_000_000_000_000),
    ("is_buy", "bool", True),
    ("user", "pubkey", USER),
    ("timestamp", "i64", 1_780_000_000),
    ("virtual_sol_reserves", "u64", 31_234_567_890),
    ("virtual_token_reserves", "u64", 1_038_000_000_000_000),
    ("real_sol_reserves", "u64", 1_234_567_890),
    ("real_token_reserves", "u64", 758_100_000_000_000),
    ("fee_recipient", "pubkey", FEE_RECIPIENT),
    ("fee_basis_points", "u64", 95),
    ("fee", "u64", 11_729_000),
    ("creator", "pubkey", CREATOR),
    ("creator_fee_basis_points", "u64", 30),
    ("creator_fee", "u64", 3_704_000),
    ("track_volume", "bool", True),
    ("total_unclaimed_tokens", "u64", 0),
    ("total_claimed_tokens", "u64", 0),
    ("current_sol_volume", "u64", 1_234_567_890),
    ("last_update_timestamp", "i64", 1_780_000_000),
    ("ix_name", "string", "buy"),
    ("mayhem_mode", "bool", False),
    ("cashback_fee_basis_points", "u64", 0),
    ("cashback", "u64", 0),
    ("buyback_fee_basis_points", "u64", 0),
    ("buyback_fee", "u64", 0),
    ("shareholders", "vec_shareholder", []),
    ("quote_mint", "pubkey", SYSTEM),
    ("quote_amount", "u64", 1_234_567_890),
    ("virtual_quote_reserves", "u64", 31_234_567_890),
    ("real_quote_reserves", "u64", 1_234_567_890),
    ("holder_rewards_bps", "u64", 0),
    ("holder_rewards", "u64", 0),
    ("creator_fee_unclaimed", "u64", 0),
]
# (layout, number of leading fields, first official IDL that has it)
TRADE_LAYOUTS = [
    ("v1_original", 10, "before sdk 1.4.0 (PROTOCOLS.md: 129 bytes)"),
    ("v2_creator_fee", 16, "sdk 1.4.0"),
    ("v3_track_volume", 17, "sdk 1.14.0"),
    ("v4_volume", 21, "sdk 1.18.0"),
    ("v5_ix_name", 22, "sdk 1.20.0"),
    ("v6_mayhem", 23, "sdk 1.24.0"),
    ("v7_cashback", 25, "sdk 1.28.0"),
    ("v8_quote_mint", 32, "sdk 1.35.0"),
    ("v9_holder_rewards", 34, "sdk 2.0.0"),
    ("v10_creator_fee_unclaimed", 35, "idl/pump.json 2293f9a6 (current)"),
]

CREATE_FIELDS: list[tuple[str, str, Any]] = [
    ("name", "string", "Example"),
    ("symbol", "string", "EX"),
    ("uri", "string", "ipfs://example/ex.json"),
    ("mint", "pubkey", MINT),
    ("bonding_curve", "pubkey", bonding_curve(MINT)),
    ("user", "pubkey", USER),
    ("creator", "pubkey", CREATOR),
    ("timestamp", "i64", 1_780_000_000),
    ("virtual_token_reserves", "u64", 1_073_000_000_000_000),
    ("virtual_sol_reserves", "u64", 30_000_000_000),
    ("real_token_reserves", "u64", 793_100_000_000_000),
    ("token_total_supply", "u64", 1_000_000_000_000_000),
    ("token_program", "pubkey", TOKEN_2022),
    ("is_mayhem_mode", "bool", False),
    ("is_cashback_enabled", "bool", False),
    ("quote_mint", "pubkey", SYSTEM),
    ("virtual_quote_reserves", "u64", 30_000_000_000),
    ("creator_fee_bps", "u64", 0),
    ("is_holder_reward", "bool", False),
    ("depth", "u8", 0),
]
CREATE_LAYOUTS = [
    ("v1_original", 6, "before sdk 1.4.0"),
    ("v2_reserves", 12, "sdk 1.4.0"),
    ("v3_token_program_mayhem", 14, "sdk 1.20.0"),
    ("v4_cashback", 15, "sdk 1.28.0"),
    ("v5_quote_mint", 17, "sdk 1.35.0"),
    ("v6_creator_fee_bps", 18, "sdk 1.37.0 (its trailing game_mode Option was devnet-only)"),
    ("v7_holder_reward", 19, "sdk 2.0.0"),
    ("v8_depth", 20, "idl/pump.json 2293f9a6 (current)"),
]

COMPLETE_FIELDS: list[tuple[str, str, Any]] = [
    ("user", "pubkey", USER),
    ("mint", "pubkey", MINT),
    ("bonding_curve", "pubkey", bonding_curve(MINT)),
    ("timestamp", "i64", 1_780_000_000),
    ("quote_mint", "pubkey", SYSTEM),
]
COMPLETE_LAYOUTS = [("v1_original", 4, "sdk 1.4.0"), ("v2_quote_mint", 5, "sdk 1.35.0 (current)")]


def encode_field(kind: str, value: Any) -> bytes:
    if kind == "pubkey":
        return bytes(value)
    if kind == "string":
        return borsh_string(value)
    if kind == "vec_shareholder":
        return u32(len(value)) + b"".join(bytes(a) + u16(bps) for a, bps in value)
    return {"u8": u8, "u16": u16, "u64": u64, "i64": i64, "bool": lambda v: u8(int(v))}[kind](value)


def jsonable(v: Any) -> Any:
    return str(v) if isinstance(v, Pubkey) else v


def event_vectors(
    name: str, fields: list[tuple[str, str, Any]], layouts: list[tuple[str, int, str]]
) -> list[dict[str, Any]]:
    disc = bytes(PUMP_EVENTS[name])
    out = []
    for layout, count, since in layouts:
        payload = b"".join(encode_field(k, v) for _, k, v in fields[:count])
        data = disc + payload
        out.append(
            {
                "event": name,
                "layout": layout,
                "since": since,
                "field_count": count,
                "fields": [{"name": n, "type": k} for n, k, _ in fields[:count]],
                "total_len_with_discriminator": len(data),
                "data": hexdata(data),
                "program_data_log_line": "Program data: " + base64.b64encode(data).decode(),
                "decoded": {n: jsonable(v) for n, _, v in fields[:count]},
            }
        )
    return out


CURVE_FIELDS: list[tuple[str, str, Any]] = [
    ("virtual_token_reserves", "u64", 1_038_000_000_000_000),
    ("virtual_quote_reserves", "u64", 31_234_567_890),
    ("real_token_reserves", "u64", 758_100_000_000_000),
    ("real_quote_reserves", "u64", 1_234_567_890),
    ("token_total_supply", "u64", 1_000_000_000_000_000),
    ("complete", "bool", False),
    ("creator", "pubkey", CREATOR),
    ("is_mayhem_mode", "bool", True),
    ("is_cashback_coin", "bool", False),
    ("quote_mint", "pubkey", SYSTEM),
    ("creator_fee_bps", "u64", 0),
    ("can_edit_creator_fee", "bool", False),
    ("is_holder_reward", "bool", False),
    ("creator_fee", "u64", 0),
    ("protocol_fees", "u64", 0),
    ("depth", "u8", 0),
    ("initial_virtual_quote_reserves", "u64", 30_000_000_000),
    ("post_complete_base_out", "u64", 0),
    ("post_complete_quote_in", "u64", 0),
]
CURVE_LENGTHS = [
    (49, "initial layout (through complete)"),
    (81, "+creator"),
    (82, "+is_mayhem_mode"),
    (83, "+is_cashback_coin"),
    (115, "+quote_mint (buy_v2 tops accounts up to 115)"),
    (124, "+creator_fee_bps, can_edit_creator_fee"),
    (125, "+is_holder_reward (sdk 2.0 SIZE)"),
    (151, "sdk 2.0 NEW_SIZE: extend_account target; bytes 125..151 zero"),
    (
        166,
        "current IDL: +creator_fee, protocol_fees, depth, initial_virtual_quote_reserves, "
        "post_complete_base_out, post_complete_quote_in",
    ),
]


def curve_vectors() -> dict[str, Any]:
    offsets: list[dict[str, Any]] = []
    off = 8
    full = bytes(PUMP_ACCOUNTS["BondingCurve"])
    for name, kind, value in CURVE_FIELDS:
        raw = encode_field(kind, value)
        offsets.append({"name": name, "type": kind, "offset": off, "size": len(raw)})
        full += raw
        off += len(raw)
    assert len(full) == 166
    accounts = []
    for length, what in CURVE_LENGTHS:
        data = full[:length] if length <= len(full) else full + bytes(length - len(full))
        if length == 151:
            data = full[:125] + bytes(26)
        present = [f for f in offsets if f["offset"] + f["size"] <= length]
        decoded = {
            f["name"]: jsonable(v) for f, (_, _, v) in zip(offsets, CURVE_FIELDS, strict=True) if f in present
        }
        if length == 151:
            decoded = {
                k: v for k, v in decoded.items() if next(f for f in offsets if f["name"] == k)["offset"] < 125
            }
        accounts.append({"length": length, "what": what, "data": hexdata(data), "decoded": decoded})
    return {
        "discriminator": disc_entry(bytes(PUMP_ACCOUNTS["BondingCurve"])),
        "offsets": offsets,
        "note": "every layout is a prefix of the next; a field the account is too short for reads as its "
        "default (zero key, false, 0) exactly as the program's versioned reader does (sdk 2.0 "
        "decodeBondingCurve zero-pads). quote_mint == Pubkey::default() means SOL.",
        "accounts": accounts,
    }


# -- Pump.fun fee maths -------------------------------------------------------------------------------------


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def fee(amount: int, bps: int) -> int:
    return ceil_div(amount * bps, 10_000)


def fee_vectors() -> dict[str, Any]:
    vtok, vsol, rtok = 1_038_000_000_000_000, 31_234_567_890, 758_100_000_000_000
    protocol, creator = 95, 30
    cases = []

    def row(kind: str, amount: int, gross: int, with_creator: bool = True) -> dict[str, Any]:
        p = fee(gross, protocol)
        c = fee(gross, creator) if with_creator else 0
        combined = fee(gross, protocol + (creator if with_creator else 0))
        net = gross + p + c if kind.startswith("buy") else gross - p - c
        net_combined = gross + combined if kind.startswith("buy") else gross - combined
        return {
            "kind": kind,
            "token_amount": amount,
            "quote_before_fees": gross,
            "protocol_fee_bps": protocol,
            "creator_fee_bps": creator if with_creator else 0,
            "protocol_fee": p,
            "creator_fee": c,
            "user_pays" if kind.startswith("buy") else "user_receives": net,
            "combined_rounding_fee_as_code_today": combined,
            "combined_rounding_result_as_code_today": net_combined,
            "differs_by": net_combined - net,
        }

    # Sells: gross = floor(n * vsol / (vtok + n)); user gets gross - ceil(g*95/1e4) - ceil(g*30/1e4).
    found = []
    for n in range(10_000_000_000_000, 10**14, 1_000_003):
        g = n * vsol // (vtok + n)
        if fee(g, protocol) + fee(g, creator) != fee(g, protocol + creator):
            found.append(n)
        if len(found) == 2:
            break
    for n in found:
        cases.append(row("sell", n, n * vsol // (vtok + n)))
    n_equal = next(
        n
        for n in range(2_000_000_000_000, 10**14, 1_000_003)
        if fee(g := n * vsol // (vtok + n), protocol) + fee(g, creator) == fee(g, protocol + creator)
    )
    cases.append(row("sell", n_equal, n_equal * vsol // (vtok + n_equal)))
    # Buy exact tokens (legacy buy): cost = floor(n * vsol / (vtok - n)) + 1, then each fee rounded up.
    for n in (AMOUNT, 35_000_000_000_000):
        m = min(n, rtok)
        cases.append(row("buy_exact_tokens", m, m * vsol // (vtok - m) + 1))
    # Creator fee only when bonding_curve.creator != Pubkey::default() (or the coin is new).
    cases.append(row("sell_no_creator", found[0], found[0] * vsol // (vtok + found[0]), with_creator=False))
    worked = next(c for c in cases if c["kind"] == "sell" and c["differs_by"])
    # buy_exact_sol_in quote per the IDL docs (official formula, separate round-up; note the -1s).
    spend = 1_000_000_000
    total_bps = protocol + creator
    net_sol = spend * 10_000 // (10_000 + total_bps)
    fees = fee(net_sol, protocol) + fee(net_sol, creator)
    if net_sol + fees > spend:
        net_sol -= net_sol + fees - spend
    tokens_out = (net_sol - 1) * vtok // (vsol + net_sol - 1)
    return {
        "source": source("pump_bonding_curve_ts", "pump_idl", "pump_sdk"),
        "formulas": {
            "fee(x, bps)": "ceil(x * bps / 10000)",
            "total fee": "fee(x, protocol_fee_bps) + fee(x, creator_fee_bps): each rounded up separately",
            "creator fee applies": "bonding_curve.creator != Pubkey::default() or a new coin",
            "buy exact tokens": "cost = floor(n * vq / (vt - n)) + 1, n = min(amount, real_token_reserves); "
            "user pays cost + fees(cost)",
            "sell": "gross = floor(n * vq / (vt + n)); user receives gross - fees(gross)",
            "buy_exact_sol_in (idl docs)": "net = floor(s * 1e4 / (1e4 + total_bps)); fees(net); "
            "if net + fees > s: "
            "net -= net + fees - s; tokens = floor((net - 1) * vt / (vq + net - 1))",
            "fee bps": "from the pump_fees FeeConfig tier for the curve's market cap "
            "(quote-mint dependent: SOL, "
            "stable, exotic schedules), or the coin's own creator_fee_bps when Global."
            "creator_fee_configurable and non-zero; never hard-coded",
        },
        "curve": {
            "virtual_token_reserves": vtok,
            "virtual_quote_reserves": vsol,
            "real_token_reserves": rtok,
        },
        "cases": cases,
        "worked_example": worked,
        "buy_exact_sol_in_example": {
            "spendable_sol_in": spend,
            "net_sol": net_sol,
            "fees": fees,
            "tokens_out": tokens_out,
        },
    }


# -- Drift ------------------------------------------------------------------------------------------------

DRIFT_STATE = pda([b"drift_state"], DRIFT)


def drift_user(authority: Pubkey, sub: int = 0) -> Pubkey:
    return pda([b"user", bytes(authority), u16(sub)], DRIFT)


@dataclass(frozen=True)
class Order:
    direction: int
    base_asset_amount: int
    market_index: int
    order_type: int = 0
    market_type: int = 1
    user_order_id: int = 0
    price: int = 0
    reduce_only: bool = False
    post_only: int = 0
    bit_flags: int = 0
    max_ts: int | None = None
    trigger_price: int | None = None
    trigger_condition: int = 0
    oracle_price_offset: int | None = None
    auction_duration: int | None = None
    auction_start_price: int | None = None
    auction_end_price: int | None = None


def order_params(o: Order) -> bytes:
    """drift.json OrderParams (sdk 2.156.0): bit_flags u8 where immediate_or_cancel used to be."""
    return (
        u8(o.order_type)
        + u8(o.market_type)
        + u8(o.direction)
        + u8(o.user_order_id)
        + u64(o.base_asset_amount)
        + u64(o.price)
        + u16(o.market_index)
        + u8(int(o.reduce_only))
        + u8(o.post_only)
        + u8(o.bit_flags)
        + option(o.max_ts, i64)
        + option(o.trigger_price, u64)
        + u8(o.trigger_condition)
        + option(o.oracle_price_offset, i32)
        + option(o.auction_duration, u8)
        + option(o.auction_start_price, i64)
        + option(o.auction_end_price, i64)
    )


def code_today_bytes(o: Order) -> bytes:
    """What venues/drift.py OrderParams.encode emits when bit_flags is passed: bit_flags AND an
    immediate_or_cancel byte (False), so every later field sits one byte late."""
    p = order_params(o)
    cut = 4 + 8 + 8 + 2 + 1 + 1 + 1
    return p[:cut] + b"\x00" + p[cut:]


def drift_vectors() -> dict[str, Any]:
    authority = USER
    cases = {
        "market_long_1_sol_perp": Order(direction=0, base_asset_amount=1_000_000_000, market_index=0),
        "limit_short_post_only_with_max_ts": Order(
            direction=1,
            base_asset_amount=2_500_000_000,
            market_index=0,
            order_type=1,
            price=150_250_000,
            post_only=1,
            max_ts=1_780_000_060,
            user_order_id=7,
        ),
        "market_ioc_reduce_only_bit_flag": Order(
            direction=1, base_asset_amount=500_000_000, market_index=1, reduce_only=True, bit_flags=1
        ),
        "oracle_order_with_auction": Order(
            direction=0,
            base_asset_amount=1_000_000_000,
            market_index=0,
            order_type=4,
            oracle_price_offset=-50_000,
            auction_duration=10,
            auction_start_price=-100_000,
            auction_end_price=50_000,
        ),
        "trigger_market_below": Order(
            direction=1,
            base_asset_amount=1_000_000_000,
            market_index=2,
            order_type=2,
            trigger_price=3_000_000_000,
            trigger_condition=1,
            reduce_only=True,
        ),
    }
    disc = {n: anchor_disc("global", n) for n in ("place_perp_order", "cancel_order", "modify_order")}
    assert disc["place_perp_order"].hex() == "45a15dca787e4cb9"
    vectors = []
    for name, o in cases.items():
        params = order_params(o)
        vectors.append(
            {
                "name": name,
                "params": {k: getattr(o, k) for k in o.__dataclass_fields__},
                "order_params": hexdata(params),
                "place_perp_order_data": hexdata(disc["place_perp_order"] + params),
                "encoded_by_code_today_when_bit_flags_is_set": code_today_bytes(o).hex(),
            }
        )
    modify = (
        option(None, u8)
        + option(None, u64)
        + option(151_000_000, u64)
        + option(None, u8)
        + option(None, u8)
        + option(1, u8)
        + option(None, i64)
        + option(None, u64)
        + option(None, u8)
        + option(None, i32)
        + option(None, u8)
        + option(None, i64)
        + option(None, i64)
        + option(1, u8)
    )
    accounts = [
        {
            "index": 0,
            "name": "state",
            "pubkey": str(DRIFT_STATE),
            "is_writable": False,
            "is_signer": False,
            "seeds": ["drift_state"],
        },
        {
            "index": 1,
            "name": "user",
            "pubkey": str(drift_user(authority)),
            "is_writable": True,
            "is_signer": False,
            "seeds": ["user", "<authority>", "<sub_account_id u16 LE>"],
        },
        {"index": 2, "name": "authority", "pubkey": str(authority), "is_writable": False, "is_signer": True},
    ]
    return {
        "source": source("drift_idl"),
        "program_id": str(DRIFT),
        "discriminators": {k: disc_entry(v) for k, v in disc.items()},
        "enums": {
            "OrderType": ["Market", "Limit", "TriggerMarket", "TriggerLimit", "Oracle"],
            "MarketType": ["Spot", "Perp"],
            "PositionDirection": ["Long", "Short"],
            "PostOnlyParam": ["None", "MustPostOnly", "TryPostOnly", "Slide"],
            "OrderTriggerCondition": ["Above", "Below", "TriggeredAbove", "TriggeredBelow"],
            "OrderParamsBitFlag": {"ImmediateOrCancel": 1, "UpdateHighLeverageMode": 2},
            "ModifyOrderPolicy (u8 bit flags)": {"MustModify": 1, "ExcludePreviousFill": 2},
        },
        "accounts": accounts,
        "remaining_accounts": "oracles, then spot markets, then perp markets the user touches (sdk "
        "getRemainingAccounts); readable unless the ix writes them; + the high-leverage-mode "
        "config (writable) when bit_flags has UpdateHighLeverageMode",
        "order_params": vectors,
        "cancel_order": {
            "order_id_42": hexdata(disc["cancel_order"] + option(42, u32)),
            "order_id_none": hexdata(disc["cancel_order"] + option(None, u32)),
        },
        "modify_order": {
            "args": {"order_id": 42, "price": 151_000_000, "bit_flags": 1, "policy": 1},
            "data": hexdata(disc["modify_order"] + option(42, u32) + modify),
        },
        "perp_position": _perp_position_vector(),
    }


def _perp_position_vector() -> dict[str, Any]:
    fields = [
        ("last_cumulative_funding_rate", "i64", 12_345),
        ("base_asset_amount", "i64", -2_500_000_000),
        ("quote_asset_amount", "i64", 375_000_000),
        ("quote_break_even_amount", "i64", 374_000_000),
        ("quote_entry_amount", "i64", 375_625_000),
        ("open_bids", "i64", 0),
        ("open_asks", "i64", -1_000_000_000),
        ("settled_pnl", "i64", -5_000),
        ("lp_shares", "u64", 0),
        ("isolated_position_scaled_balance", "u64", 0),
        ("last_quote_asset_amount_per_lp", "i64", 0),
        ("padding", "2 bytes", 0),
        ("max_margin_ratio", "u16", 0),
        ("market_index", "u16", 0),
        ("open_orders", "u8", 1),
        ("position_flag", "u8", 0),
    ]
    raw, off = b"", 0
    offsets: list[dict[str, Any]] = []
    for name, kind, value in fields:
        part = bytes(2) if kind == "2 bytes" else encode_field(kind, value)
        offsets.append({"name": name, "type": kind, "offset": off})
        raw += part
        off += len(part)
    assert len(raw) == 96
    return {
        "size": 96,
        "user_account_perp_positions_offset": 8 + 32 + 32 + 32 + 8 * 40,
        "spot_position_size": 40,
        "offsets": offsets,
        "example": hexdata(raw),
        "decoded": {n: v for n, k, v in fields if k != "2 bytes"},
    }


# -- Solana: compute budget, RPC shapes, durable nonces ------------------------------------------------------


def compute_budget_vectors() -> dict[str, Any]:
    def ix(tag: int, value: int, size: int) -> bytes:
        return u8(tag) + value.to_bytes(size, "little")

    cases = [
        ("SetComputeUnitLimit", 2, 257, 4),
        ("SetComputeUnitPrice", 3, 2**64 - 1, 8),
        ("SetComputeUnitLimit", 2, 200_000, 4),
        ("SetComputeUnitLimit", 2, 1_400_000, 4),
        ("SetComputeUnitPrice", 3, 10_000, 8),
        ("RequestHeapFrame", 1, 262_144, 4),
        ("SetLoadedAccountsDataSizeLimit", 4, 65_536, 4),
    ]
    assert ix(2, 257, 4) == bytes([2, 1, 1, 0, 0]) and ix(3, 2**64 - 1, 8) == bytes([3] + [255] * 8)
    fees = []
    for limit, price in ((200_000, 10_000), (300_000, 1), (1_400_000, 1_000_000), (123_457, 777)):
        fees.append(
            {
                "unit_limit": limit,
                "unit_price_micro_lamports": price,
                "priority_fee_lamports": ceil_div(limit * price, 1_000_000),
                "base_fee_lamports_per_signature": 5000,
            }
        )
    return {
        "source": source("compute_budget"),
        "program_id": str(COMPUTE_BUDGET),
        "accounts": [],
        "instructions": [
            {"name": n, "tag": t, "value": v, "data": hexdata(ix(t, v, s))} for n, t, v, s in cases
        ],
        "priority_fee": fees,
        "defaults": {
            "unit_limit_without_instruction": "200,000 per non-builtin instruction, max 1,400,000 per "
            "transaction",
            "max_unit_limit": 1_400_000,
        },
    }


def rpc_vectors() -> dict[str, Any]:
    sig = "5h6xBEauJ3PK6SWCZ1PGjBvj8vDdWG3KpwATGy1ARAXFSDwt8GFXM7W5Ncn16wmqokgpiKRLuS83KUxyZyv2sUYv"

    def preflight(err: Any, message: str, logs: list[str], units: int) -> dict[str, Any]:
        return {
            "jsonrpc": "2.0",
            "id": 1,
            "error": {
                "code": -32002,
                "message": f"Transaction simulation failed: {message}",
                "data": {
                    "accounts": None,
                    "err": err,
                    "innerInstructions": None,
                    "logs": logs,
                    "replacementBlockhash": None,
                    "returnData": None,
                    "unitsConsumed": units,
                },
            },
        }

    nonce_authority, nonce_account = USER, example_key(9)
    advance = advance_nonce_account(
        AdvanceNonceAccountParams(nonce_pubkey=nonce_account, authorized_pubkey=nonce_authority)
    )
    assert bytes(advance.data) == u32(4)
    durable = Hash.from_string("LUaQTmM7WbMRiATdMMHaRGakPtCkc2GHtH57STKXs6k")
    nonce_data = u32(1) + u32(1) + bytes(nonce_authority) + bytes(durable) + u64(5000)
    assert len(nonce_data) == 80
    return {
        "source": source("solana_rpc", "agave_errors", "tx_error", "nonce"),
        "getRecentPrioritizationFees": {
            "request": {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "getRecentPrioritizationFees",
                "params": [["CxELquR1gPP8wHe33gZ4QxqGB3sZ9RSwsJ2KshVewkFY"]],
            },
            "response": {
                "jsonrpc": "2.0",
                "id": 1,
                "result": [
                    {"slot": 348125, "prioritizationFee": 0},
                    {"slot": 348126, "prioritizationFee": 1000},
                    {"slot": 348127, "prioritizationFee": 500},
                    {"slot": 348128, "prioritizationFee": 0},
                    {"slot": 348129, "prioritizationFee": 1234},
                ],
            },
            "notes": "up to 128 addresses; fees are micro-lamports per CU paid by at least one "
            "landed tx of that "
            "slot, for txs write-locking all the given accounts; a node keeps up to 150 blocks",
        },
        "sendTransaction": {
            "request": {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "sendTransaction",
                "params": [
                    "<base64 tx>",
                    {
                        "encoding": "base64",
                        "skipPreflight": False,
                        "preflightCommitment": "confirmed",
                        "maxRetries": 0,
                        "minContextSlot": 348120,
                    },
                ],
            },
            "ok": {"jsonrpc": "2.0", "id": 1, "result": sig},
            "blockhash_not_found": preflight("BlockhashNotFound", "Blockhash not found", [], 0),
            "already_processed": preflight(
                "AlreadyProcessed", "This transaction has already been processed", [], 0
            ),
            "instruction_error": preflight(
                {"InstructionError": [2, {"Custom": 6002}]},
                "Error processing Instruction 2: custom program error: 0x1772",
                [
                    f"Program {PUMP} invoke [1]",
                    "Program log: Instruction: Buy",
                    "Program log: AnchorError occurred. Error Code: TooMuchSolRequired. Error Number: 6002. "
                    "Error Message: slippage: Too much SOL required to buy the given amount of tokens..",
                    f"Program {PUMP} consumed 41234 of 199700 compute units",
                    f"Program {PUMP} failed: custom program error: 0x1772",
                ],
                41234,
            ),
            "signature_verification_failure": {
                "jsonrpc": "2.0",
                "id": 1,
                "error": {"code": -32003, "message": "Transaction signature verification failure"},
            },
            "node_behind": {
                "jsonrpc": "2.0",
                "id": 1,
                "error": {
                    "code": -32005,
                    "message": "Node is behind by 42 slots",
                    "data": {"numSlotsBehind": 42},
                },
            },
            "node_unhealthy": {
                "jsonrpc": "2.0",
                "id": 1,
                "error": {"code": -32005, "message": "Node is unhealthy", "data": {"numSlotsBehind": None}},
            },
            "min_context_slot_not_reached": {
                "jsonrpc": "2.0",
                "id": 1,
                "error": {
                    "code": -32016,
                    "message": "Minimum context slot has not been reached",
                    "data": {"contextSlot": 348100},
                },
            },
            "notes": "-32002 carries the simulate result in data (newer nodes add keys such as "
            "loadedAccountsDataSize, fee, pre/postBalances: ignore unknown keys). AlreadyProcessed means "
            "the same signature already landed: not a failure. With skipPreflight the node answers the "
            "signature and drops a bad tx silently.",
        },
        "getSignatureStatuses": {
            "request": {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "getSignatureStatuses",
                "params": [[sig], {"searchTransactionHistory": True}],
            },
            "response": {
                "jsonrpc": "2.0",
                "id": 1,
                "result": {
                    "context": {"slot": 348130},
                    "value": [
                        {
                            "slot": 348128,
                            "confirmations": None,
                            "err": None,
                            "status": {"Ok": None},
                            "confirmationStatus": "finalized",
                        }
                    ],
                },
            },
        },
        "websocket": {
            "signatureSubscribe": {
                "request": {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "signatureSubscribe",
                    "params": [sig, {"commitment": "confirmed", "enableReceivedNotification": False}],
                },
                "ack": {"jsonrpc": "2.0", "result": 0, "id": 1},
                "processed": {
                    "jsonrpc": "2.0",
                    "method": "signatureNotification",
                    "params": {
                        "result": {"context": {"slot": 5207624}, "value": {"err": None}},
                        "subscription": 24006,
                    },
                },
                "received": {
                    "jsonrpc": "2.0",
                    "method": "signatureNotification",
                    "params": {
                        "result": {"context": {"slot": 5207624}, "value": "receivedSignature"},
                        "subscription": 24006,
                    },
                },
                "note": "one notification, then the server cancels the subscription itself",
            },
            "slotSubscribe": {
                "request": {"jsonrpc": "2.0", "id": 1, "method": "slotSubscribe"},
                "notification": {
                    "jsonrpc": "2.0",
                    "method": "slotNotification",
                    "params": {"result": {"parent": 75, "root": 44, "slot": 76}, "subscription": 0},
                },
            },
            "logsSubscribe": {
                "request": {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "logsSubscribe",
                    "params": [{"mentions": [str(PUMP)]}, {"commitment": "confirmed"}],
                },
                "notification": {
                    "jsonrpc": "2.0",
                    "method": "logsNotification",
                    "params": {
                        "result": {
                            "context": {"slot": 5208469},
                            "value": {
                                "signature": sig,
                                "err": None,
                                "logs": ["SBF program 83astBRguLMdt2h5U1Tpdq5tjFoJ6noeGwaY3mDLVcri success"],
                            },
                        },
                        "subscription": 24040,
                    },
                },
                "note": "mentions takes exactly one pubkey",
            },
            "accountSubscribe": {
                "request": {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "accountSubscribe",
                    "params": [str(bonding_curve(MINT)), {"encoding": "base64", "commitment": "confirmed"}],
                },
                "notification": {
                    "jsonrpc": "2.0",
                    "method": "accountNotification",
                    "params": {
                        "result": {
                            "context": {"slot": 5199307},
                            "value": {
                                "data": [base64.b64encode(nonce_data).decode(), "base64"],
                                "executable": False,
                                "lamports": 33594,
                                "owner": str(SYSTEM),
                                "rentEpoch": 635,
                                "space": 80,
                            },
                        },
                        "subscription": 23784,
                    },
                },
                "note": "same value shape as getAccountInfo; data [b64, 'base64'] for base64 "
                "(the docs' example uses base58 / jsonParsed)",
            },
        },
        "durable_nonce": {
            "advance_nonce_account": {
                "program_id": str(SYSTEM),
                "data": hexdata(bytes(advance.data)),
                "accounts": [
                    {
                        "index": 0,
                        "name": "nonce_account",
                        "pubkey": str(nonce_account),
                        "is_writable": True,
                        "is_signer": False,
                    },
                    {
                        "index": 1,
                        "name": "recent_blockhashes_sysvar",
                        "pubkey": str(RECENT_BLOCKHASHES_SYSVAR),
                        "is_writable": False,
                        "is_signer": False,
                    },
                    {
                        "index": 2,
                        "name": "nonce_authority",
                        "pubkey": str(nonce_authority),
                        "is_writable": False,
                        "is_signer": True,
                    },
                ],
                "rule": "must be the transaction's first instruction; "
                "recent_blockhash = the stored durable nonce",
            },
            "nonce_account": {
                "size": 80,
                "layout": [
                    {"name": "version", "type": "u32", "offset": 0, "values": {"Legacy": 0, "Current": 1}},
                    {
                        "name": "state",
                        "type": "u32",
                        "offset": 4,
                        "values": {"Uninitialized": 0, "Initialized": 1},
                    },
                    {"name": "authority", "type": "pubkey", "offset": 8},
                    {"name": "durable_nonce", "type": "hash", "offset": 40},
                    {"name": "lamports_per_signature", "type": "u64", "offset": 72},
                ],
                "example": hexdata(nonce_data),
                "decoded": {
                    "version": "Current",
                    "state": "Initialized",
                    "authority": str(nonce_authority),
                    "durable_nonce": str(durable),
                    "lamports_per_signature": 5000,
                },
            },
        },
    }


# -- Jupiter -----------------------------------------------------------------------------------------------


def jupiter_vectors() -> dict[str, Any]:
    quote = {
        "inputMint": str(WSOL),
        "inAmount": "100000000",
        "outputMint": str(USDC),
        "outAmount": "17057460",
        "otherAmountThreshold": "16886885",
        "swapMode": "ExactIn",
        "slippageBps": 100,
        "priceImpactPct": "0.0001",
        "platformFee": {"amount": "0", "feeBps": 0},
        "routePlan": [
            {
                "swapInfo": {
                    "ammKey": "HXpGFJGCEEFdV31tDmjDBaJMEB1fKLiAoKoWr3Fnonid",
                    "label": "Meteora DLMM",
                    "inputMint": str(WSOL),
                    "outputMint": str(USDC),
                    "inAmount": "100000000",
                    "outAmount": "17057460",
                    "feeAmount": "1285",
                    "feeMint": str(USDC),
                },
                "percent": 100,
            }
        ],
        "contextSlot": 324307186,
        "timeTaken": 0.012,
    }
    # A swap-instructions answer whose swap instruction names accounts held in a lookup table, and the v0
    # message a builder must compile from it (static keys, then writable lookups, then readonly lookups).
    alt_key = example_key(16)
    table = [example_key(n) for n in range(20, 26)]
    cb = [
        Instruction(COMPUTE_BUDGET, u8(2) + u32(240_000), []),
        Instruction(COMPUTE_BUDGET, u8(3) + u64(25_000), []),
    ]
    swap = Instruction(
        JUPITER,
        bytes.fromhex("e517cb977ae3ad2a") + bytes(16),
        [
            AccountMeta(SPL_TOKEN, False, False),
            AccountMeta(USER, True, True),
            AccountMeta(table[0], False, True),
            AccountMeta(table[1], False, True),
            AccountMeta(table[2], False, False),
            AccountMeta(table[3], False, False),
            AccountMeta(JUPITER, False, False),
        ],
    )
    memo = Instruction(MEMO, b"order-1", [])
    tip_to = pk(JITO_TIP_ACCOUNTS[0])
    tip = Instruction(
        SYSTEM, u32(2) + u64(10_000), [AccountMeta(USER, True, True), AccountMeta(tip_to, False, True)]
    )
    ixs = [*cb, swap, memo, tip]
    blockhash = Hash.from_string("LUaQTmM7WbMRiATdMMHaRGakPtCkc2GHtH57STKXs6k")
    msg = MessageV0.try_compile(USER, ixs, [AddressLookupTableAccount(alt_key, table)], blockhash)
    alt_data = u32(1) + u64(2**64 - 1) + u64(300_000_000) + u8(0) + b"\x01" + bytes(USER) + u16(0)
    alt_data += b"".join(bytes(k) for k in table)
    parsed = AddressLookupTable.deserialize(alt_data)
    assert list(parsed.addresses) == table

    def ix_json(ix: Instruction) -> dict[str, Any]:
        return {
            "programId": str(ix.program_id),
            "accounts": [
                {"pubkey": str(a.pubkey), "isSigner": a.is_signer, "isWritable": a.is_writable}
                for a in ix.accounts
            ],
            "data": base64.b64encode(bytes(ix.data)).decode(),
        }

    lookups = msg.address_table_lookups
    return {
        "source": source("jupiter_v1", "jupiter_v1_build", "jupiter_rate_limits"),
        "base_url": "/swap/v1",
        "auth": {
            "header": "x-api-key",
            "keyless": "0.5 req/s (30/min)",
            "free": "1 req/s (60/min)",
            "window": "60 s sliding; all endpoints share one bucket per account; 429 when over",
        },
        "quote_request": {
            "method": "GET",
            "path": "/quote",
            "params": {
                "inputMint": str(WSOL),
                "outputMint": str(USDC),
                "amount": "100000000",
                "slippageBps": 100,
                "swapMode": "ExactIn",
                "restrictIntermediateTokens": True,
                "maxAccounts": 64,
                "instructionVersion": "V1",
                "forJitoBundle": False,
            },
        },
        "quote_response": quote,
        "swap_request": {
            "method": "POST",
            "path": "/swap",
            "body": {
                "userPublicKey": str(USER),
                "quoteResponse": quote,
                "wrapAndUnwrapSol": True,
                "dynamicComputeUnitLimit": True,
                "prioritizationFeeLamports": {
                    "priorityLevelWithMaxLamports": {"priorityLevel": "veryHigh", "maxLamports": 1000000}
                },
            },
        },
        "swap_response": {
            "swapTransaction": "<base64 unsigned VersionedTransaction>",
            "lastValidBlockHeight": 324307300,
            "prioritizationFeeLamports": 254600,
            "dynamicSlippageReport": {
                "slippageBps": 12,
                "otherAmount": 17055413,
                "simulatedIncurredSlippageBps": 1,
                "amplificationRatio": "1.5",
            },
        },
        "swap_instructions_request": {
            "method": "POST",
            "path": "/swap-instructions",
            "body": {
                "userPublicKey": str(USER),
                "quoteResponse": quote,
                "wrapAndUnwrapSol": True,
                "dynamicComputeUnitLimit": True,
            },
        },
        "swap_instructions_response_doc_example": {
            "computeBudgetInstructions": [
                {"programId": str(COMPUTE_BUDGET), "accounts": [], "data": "AsBcAA=="}
            ],
            "setupInstructions": [
                {
                    "programId": str(ATA_PROGRAM),
                    "accounts": [
                        {
                            "pubkey": "BQ72nSv9f3PRyRKCBnHLVrerrv37CYTHm5h3s9VSGQDV",
                            "isSigner": True,
                            "isWritable": True,
                        }
                    ],
                    "data": "",
                }
            ],
            "swapInstruction": {
                "programId": str(JUPITER),
                "accounts": [
                    {
                        "pubkey": "BQ72nSv9f3PRyRKCBnHLVrerrv37CYTHm5h3s9VSGQDV",
                        "isSigner": True,
                        "isWritable": True,
                    }
                ],
                "data": "3Dc2AAAAAAA...",
            },
            "cleanupInstruction": None,
            "otherInstructions": [],
            "addressLookupTableAddresses": ["GxS6FiQ9RbErBB48mE34U4Jv13MdEJov4R1e5KgFzRFY"],
        },
        "swap_instructions_with_lookup_table": {
            "response": {
                "computeBudgetInstructions": [ix_json(i) for i in cb],
                "setupInstructions": [],
                "swapInstruction": ix_json(swap),
                "cleanupInstruction": None,
                "otherInstructions": [],
                "addressLookupTableAddresses": [str(alt_key)],
            },
            "lookup_table_account": {
                "address": str(alt_key),
                "data": hexdata(alt_data),
                "layout": "u32 state tag (1) | deactivation_slot u64 | last_extended_slot u64 |"
                " start_index u8 | authority Option<Pubkey> | u16 padding | "
                "addresses 32 B each from offset 56 (checked with solders)",
            },
            "added_by_builder": {
                "memo": ix_json(memo),
                "jito_tip": ix_json(tip),
                "note": "the tip account stays a static key: never put tip accounts in a table",
            },
            "expected_v0_message": {
                "recent_blockhash": str(blockhash),
                "instruction_order": "compute budget, setup, swap, cleanup, own instructions (memo, tip)",
                "header": {
                    "num_required_signatures": msg.header.num_required_signatures,
                    "num_readonly_signed_accounts": msg.header.num_readonly_signed_accounts,
                    "num_readonly_unsigned_accounts": msg.header.num_readonly_unsigned_accounts,
                },
                "static_account_keys": [str(k) for k in msg.account_keys],
                "address_table_lookups": [
                    {
                        "account_key": str(lk.account_key),
                        "writable_indexes": list(lk.writable_indexes),
                        "readonly_indexes": list(lk.readonly_indexes),
                    }
                    for lk in lookups
                ],
                "serialized_message": hexdata(bytes(msg)),
            },
        },
        "notes": "the swap transaction and instructions use lookup tables routinely; resolve each table with "
        "getMultipleAccounts and compile with them. Metis (v1) is marked deprecated in favour of "
        "/swap/v2/build, which returns addressesByLookupTableAddress and blockhashWithMetadata.",
    }


# -- Jito ---------------------------------------------------------------------------------------------------


def jito_vectors() -> dict[str, Any]:
    floor: dict[str, Any] = {
        "time": "2024-09-01T12:58:00Z",
        "landed_tips_25th_percentile": 6.001000000000001e-06,
        "landed_tips_50th_percentile": 1e-05,
        "landed_tips_75th_percentile": 3.6196500000000005e-05,
        "landed_tips_95th_percentile": 0.0014479055000000002,
        "landed_tips_99th_percentile": 0.010007999,
        "ema_landed_tips_50th_percentile": 9.836078125000002e-06,
    }
    lamports = {k: math.ceil(round(v * 1e9, 3)) for k, v in floor.items() if k != "time"}
    ids = [
        "b31e5fae4923f345218403ac1ab242b46a72d4f2a38d131f474255ae88f1ec9a",
        "e3c4d7933cf3210489b17307a14afbab2e4ae3c67c9e7157156f191f047aa6e8",
    ]
    return {
        "source": source("jito"),
        "endpoints": {
            "bundles": "/api/v1/bundles",
            "transactions": "/api/v1/transactions",
            "tip_floor": "/api/v1/bundles/tip_floor",
            "tip_stream": "/api/v1/bundles/tip_stream",
            "regions": [
                "mainnet",
                "amsterdam",
                "dublin",
                "frankfurt",
                "london",
                "ny",
                "slc",
                "singapore",
                "tokyo",
            ],
        },
        "limits": {
            "rate": "1 request per second per IP per region (default, no auth needed); 429 when over",
            "auth": "x-jito-auth: <uuid> header or ?uuid=<uuid>",
            "bundle_max_transactions": 5,
            "min_tip_lamports": 1000,
            "status_ids_per_request": 5,
            "inflight_lookback": "5 minutes",
            "priority_fee_in_bundles": "sendBundle: only the tip matters",
        },
        "sendBundle": {
            "request": {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "sendBundle",
                "params": [["<base64 signed tx>"], {"encoding": "base64"}],
            },
            "response": {"jsonrpc": "2.0", "result": ids[0], "id": 1},
        },
        "getBundleStatuses": {
            "request": {"jsonrpc": "2.0", "id": 1, "method": "getBundleStatuses", "params": [[ids[0]]]},
            "landed": {
                "jsonrpc": "2.0",
                "result": {
                    "context": {"slot": 242806119},
                    "value": [
                        {
                            "bundle_id": ids[0],
                            "transactions": [
                                "3bC2M9fiACSjkTXZDgeNAuQ4ScTsdKGwR42ytFdhUvikqTmBheUxfsR1fDVsM5ADCMMspuwGkdm1uKbU246x5aE3"
                            ],
                            "slot": 242804011,
                            "confirmation_status": "finalized",
                            "err": {"Ok": None},
                        }
                    ],
                },
                "id": 1,
            },
            "not_found": {
                "jsonrpc": "2.0",
                "result": {"context": {"slot": 242806119}, "value": [None]},
                "id": 1,
            },
            "note": "field table says confirmationStatus, example uses confirmation_status",
        },
        "getInflightBundleStatuses": {
            "request": {"jsonrpc": "2.0", "id": 1, "method": "getInflightBundleStatuses", "params": [ids]},
            "response": {
                "jsonrpc": "2.0",
                "result": {
                    "context": {"slot": 280999028},
                    "value": [
                        {"bundle_id": ids[0], "status": "Landed", "landed_slot": 280999020},
                        {"bundle_id": ids[1], "status": "Invalid", "landed_slot": None},
                    ],
                },
                "id": 1,
            },
            "statuses": {
                "Invalid": "not in the system (5-minute look-back)",
                "Pending": "not failed, landed or invalid",
                "Failed": "every region that got it marked it failed; not forwarded",
                "Landed": "landed on chain",
            },
        },
        "getTipAccounts": {
            "request": {"jsonrpc": "2.0", "id": 1, "method": "getTipAccounts", "params": []},
            "response": {"jsonrpc": "2.0", "result": JITO_TIP_ACCOUNTS, "id": 1},
        },
        "tip_floor": {
            "request": {"method": "GET", "url": "/api/v1/bundles/tip_floor"},
            "response": [floor],
            "units": "SOL (floats)",
            "in_lamports_rounded_up": lamports,
        },
        "sendTransaction": {
            "request": {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "sendTransaction",
                "params": ["<base64 signed tx>", {"encoding": "base64"}],
            },
            "query": "?bundleOnly=true for revert protection",
            "bundle_id_header": "x-bundle-id",
            "note": "always skip_preflight=true; recommended split 70% priority fee / 30% tip",
        },
    }


# -- Raydium AMM v4 ---------------------------------------------------------------------------------------


def raydium_vectors() -> dict[str, Any]:
    base_in = (
        u8(3)
        + u64(1_000_000_000)
        + u64(140_000_000)
        + u64(2)
        + u64(5_000_000_000)
        + u64(80_000_000_000_000)
        + u64(12_000_000_000_000)
        + u64(149_623_134)
    )
    base_out = (
        u8(4)
        + u64(23_000_000)
        + u64(150_000_000)
        + u64(1)
        + u64(2_000_000_000)
        + u64(80_000_000_000_000)
        + u64(12_000_000_000_000)
        + u64(22_556_435)
    )
    assert len(base_in) == len(base_out) == 57
    amm = bytearray(752)
    values = {0: 6, 32: 9, 40: 6, 176: 25, 184: 10_000, 192: 11, 200: 22}
    for off, v in values.items():
        amm[off : off + 8] = u64(v)
    keys = {
        336: "coin_vault",
        368: "pc_vault",
        400: "coin_vault_mint",
        432: "pc_vault_mint",
        464: "lp_mint",
        496: "open_orders",
        528: "market",
        560: "market_program",
        592: "target_orders",
        688: "amm_owner",
    }
    named = {}
    for i, (off, name) in enumerate(keys.items()):
        key = WSOL if name == "pc_vault_mint" else example_key(40 + i)
        amm[off : off + 32] = bytes(key)
        named[name] = {"offset": off, "pubkey": str(key)}
    return {
        "source": source("raydium"),
        "program_id": "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8",
        "ray_log": {
            "line_format": "Program log: ray_log: <base64(bincode(struct))>",
            "log_types": {"Init": 0, "Deposit": 1, "Withdraw": 2, "SwapBaseIn": 3, "SwapBaseOut": 4},
            "swap_base_in": {
                "fields": [
                    "log_type u8",
                    "amount_in u64",
                    "minimum_out u64",
                    "direction u64",
                    "user_source u64",
                    "pool_coin u64",
                    "pool_pc u64",
                    "out_amount u64",
                ],
                "data": hexdata(base_in),
                "line": "Program log: ray_log: " + base64.b64encode(base_in).decode(),
                "decoded": {
                    "amount_in": 1_000_000_000,
                    "minimum_out": 140_000_000,
                    "direction": 2,
                    "user_source": 5_000_000_000,
                    "pool_coin": 80_000_000_000_000,
                    "pool_pc": 12_000_000_000_000,
                    "out_amount": 149_623_134,
                },
            },
            "swap_base_out": {
                "fields": [
                    "log_type u8",
                    "max_in u64",
                    "amount_out u64",
                    "direction u64",
                    "user_source u64",
                    "pool_coin u64",
                    "pool_pc u64",
                    "deduct_in u64",
                ],
                "data": hexdata(base_out),
                "line": "Program log: ray_log: " + base64.b64encode(base_out).decode(),
                "decoded": {
                    "max_in": 23_000_000,
                    "amount_out": 150_000_000,
                    "direction": 1,
                    "user_source": 2_000_000_000,
                    "pool_coin": 80_000_000_000_000,
                    "pool_pc": 12_000_000_000_000,
                    "deduct_in": 22_556_435,
                },
            },
            "direction": {"1": "pc -> coin", "2": "coin -> pc"},
            "note": "not from a mainnet tx. SwapBaseIn out_amount = "
            "floor(pool_pc * net / (pool_coin + net)), "
            "net = amount_in - ceil(amount_in * 25 / 1e4) (the rule PROTOCOLS.md checked on real logs); "
            "SwapBaseOut deduct_in is illustrative",
        },
        "amm_info": {
            "size": 752,
            "u64_offsets": {
                "status": 0,
                "coin_decimals": 32,
                "pc_decimals": 40,
                "swap_fee_numerator": 176,
                "swap_fee_denominator": 184,
                "need_take_pnl_coin": 192,
                "need_take_pnl_pc": 200,
            },
            "pubkeys": named,
            "data": hexdata(bytes(amm)),
            "decoded": {
                "status": 6,
                "coin_decimals": 9,
                "pc_decimals": 6,
                "swap_fee_numerator": 25,
                "swap_fee_denominator": 10_000,
                "need_take_pnl_coin": 11,
                "need_take_pnl_pc": 22,
            },
            "note": "repr(C) with 8-byte alignment as on SBF: 16 u64 params (0..128), Fees 64 B "
            "(128..192), StateData 144 B (192..336), then pubkeys; swap instruction tags 9 "
            "(SwapBaseIn), 11 (SwapBaseOut); 16/17 are the V2 variants without OpenBook accounts",
        },
    }


# -- write -------------------------------------------------------------------------------------------------


def write(name: str, obj: dict[str, Any]) -> None:
    (OUT / name).write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n")


def main() -> int:
    write("pumpfun_constants.json", pump_constants())
    write(
        "pumpfun_instructions.json",
        {
            "source": source(
                "pump_idl",
                "pump_trade_v3",
                "pump_buy_v2",
                "pump_sell_v2",
                "pump_coin_creation",
                "pump_cashback",
                "pump_sdk",
            ),
            "example_keys": {
                "user": str(USER),
                "mint": str(MINT),
                "creator": str(CREATOR),
                "fee_recipient": str(FEE_RECIPIENT),
                "reserved_fee_recipient": str(RESERVED_FEE_RECIPIENT),
                "buyback_fee_recipient": str(BUYBACK),
                "pump_coin_quote_mint": str(PUMP_COIN_QUOTE),
            },
            "notes": "origin 'remaining: ...' marks accounts outside the IDL's list that the "
            "program requires "
            "(bonding_curve_v2, buyback recipient, cashback accumulator); fee_recipient is a reserved "
            "recipient for mayhem coins; the SOL side of SOL-paired v2/v3 trades names WSOL and SPL Token "
            "but moves native SOL; OptionBool/OptionU64 args are one field, no Option tag, and trailing ones "
            "(partial_fill) may be left off.",
            "vectors": pump_instruction_vectors(),
        },
    )
    write(
        "pumpfun_events.json",
        {
            "source": source("pump_idl", "pump_sdk_history"),
            "rule": "decoders accept every layout below: read the original fields as required "
            "and each later field "
            "only while bytes remain; ignore bytes past the last known field",
            "trade_event": event_vectors("TradeEvent", TRADE_FIELDS, TRADE_LAYOUTS),
            "create_event": event_vectors("CreateEvent", CREATE_FIELDS, CREATE_LAYOUTS),
            "complete_event": event_vectors("CompleteEvent", COMPLETE_FIELDS, COMPLETE_LAYOUTS),
            "bonding_curve_account": curve_vectors(),
        },
    )
    write("pumpfun_fees.json", fee_vectors())
    write("drift.json", drift_vectors())
    write("compute_budget.json", compute_budget_vectors())
    write("solana_rpc.json", rpc_vectors())
    write("jupiter.json", jupiter_vectors())
    write("jito.json", jito_vectors())
    write("raydium.json", raydium_vectors())
    return 0


if __name__ == "__main__":
    sys.exit(main())
