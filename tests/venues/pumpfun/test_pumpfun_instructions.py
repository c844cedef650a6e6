"""Every Pump.fun trade builder against `tests/venues/vectors/pumpfun_instructions.json` (built from
pump-public-docs `idl/pump.json`, BUY.md, SELL.md, TRADE_V3.md and SDK 2.0.0; docs/protocols §1.5): per
instruction, base token program and coin kind, the account list (count, order, pubkeys, writable and signer
flags), the discriminator and the data bytes; unsupported combinations are refused."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from core.errors import VenueRejected
from venues.pumpfun import addresses as addr
from venues.pumpfun import instructions as ix
from venues.pumpfun.addresses import FeeRecipients
from venues.pumpfun.instructions import Coin, TradeAccounts

VECTOR_DIR = Path(__file__).parents[1] / "vectors"
VECTORS: dict[str, Any] = json.loads((VECTOR_DIR / "pumpfun_instructions.json").read_text(encoding="utf-8"))
CONSTANTS: dict[str, Any] = json.loads((VECTOR_DIR / "pumpfun_constants.json").read_text(encoding="utf-8"))
KEYS = {k: Pubkey.from_string(v) for k, v in VECTORS["example_keys"].items()}
PROGRAMS = {"spl_token": addr.TOKEN_PROGRAM_ID, "token_2022": addr.TOKEN_2022_PROGRAM_ID}

Build = Callable[[TradeAccounts, dict[str, Any]], Instruction]
BUILDERS: dict[str, Build] = {
    "buy": lambda a, x: ix.buy_instruction(a, x["amount"], x["max_sol_cost"], x["track_volume"]),
    "buy_exact_sol_in": lambda a, x: ix.buy_exact_sol_in_instruction(
        a, x["spendable_sol_in"], x["min_tokens_out"], x["track_volume"]
    ),
    "sell": lambda a, x: ix.sell_instruction(a, x["amount"], x["min_sol_output"]),
    "buy_v2": lambda a, x: ix.buy_v2_instruction(a, x["amount"], x["max_sol_cost"]),
    "buy_exact_quote_in_v2": lambda a, x: ix.buy_exact_quote_in_v2_instruction(
        a, x["spendable_quote_in"], x["min_tokens_out"]
    ),
    "sell_v2": lambda a, x: ix.sell_v2_instruction(a, x["amount"], x["min_sol_output"]),
    "buy_v3": lambda a, x: ix.buy_v3_instruction(a, x["amount"], x["max_sol_cost"]),
    "buy_exact_quote_in_v3": lambda a, x: ix.buy_exact_quote_in_v3_instruction(
        a, x["spendable_quote_in"], x["min_tokens_out"]
    ),
    "sell_v3": lambda a, x: ix.sell_v3_instruction(a, x["amount"], x["min_sol_output"]),
}
TRADES = [v for v in VECTORS["vectors"] if v["instruction"] in BUILDERS]


def _accounts(vector: dict[str, Any]) -> TradeAccounts:
    coin = Coin(
        mint=KEYS["mint"],
        creator=KEYS["creator"],
        token_program=PROGRAMS[vector["base_token_program"]],
        quote_mint=Pubkey.from_string(vector["quote_mint"]),
        quote_token_program=Pubkey.from_string(vector["quote_token_program"]),
        is_mayhem=vector["coin_kind"] == "mayhem",
        is_cashback=vector["coin_kind"] == "cashback",
    )
    recipients = FeeRecipients(
        normal=KEYS["fee_recipient"],
        reserved=KEYS["reserved_fee_recipient"],
        buyback=KEYS["buyback_fee_recipient"],
    )
    return TradeAccounts(coin, KEYS["user"], recipients)


def _id(vector: dict[str, Any]) -> str:
    return f"{vector['instruction']}-{vector['base_token_program']}-{vector['coin_kind']}"


def test_every_instruction_and_token_program_has_a_vector() -> None:
    seen = {(v["instruction"], v["base_token_program"]) for v in TRADES if v["supported"]}
    assert seen == {(name, program) for name in BUILDERS for program in PROGRAMS}


@pytest.mark.parametrize("vector", [v for v in TRADES if v["supported"]], ids=_id)
def test_builder_equals_the_idl(vector: dict[str, Any]) -> None:
    built = BUILDERS[vector["instruction"]](_accounts(vector), vector["args"])
    assert str(built.program_id) == vector["program_id"]
    assert bytes(built.data).hex() == vector["data"]["hex"]
    name = vector["instruction"]
    assert bytes(built.data)[:8] == hashlib.sha256(f"global:{name}".encode()).digest()[:8]
    assert bytes(built.data)[:8].hex() == CONSTANTS["instruction_discriminators"][name]["hex"]
    assert len(built.accounts) == vector["account_count"] == len(vector["accounts"])
    got = [(str(m.pubkey), m.is_writable, m.is_signer) for m in built.accounts]
    want = [(a["pubkey"], a["is_writable"], a["is_signer"]) for a in vector["accounts"]]
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g == w, f"account {i} ({vector['accounts'][i]['name']})"


@pytest.mark.parametrize("vector", [v for v in TRADES if not v["supported"]], ids=_id)
def test_unsupported_combinations(vector: dict[str, Any]) -> None:
    """Legacy trades on non-SOL coins and v3 trades on cashback coins are refused before signing; the rest
    are coins that cannot exist (only create_v2 makes them, always Token-2022): nothing to build."""
    name, kind = vector["instruction"], vector["coin_kind"]
    legacy_off_sol = name in ("buy", "buy_exact_sol_in", "sell") and kind.endswith("_paired")
    refused = legacy_off_sol or (name.endswith("_v3") and kind == "cashback")
    if vector["base_token_program"] == "spl_token":
        assert "no such coin" in vector["reason"]
        return
    assert refused, vector["reason"]
    args = {"amount": 1, "max_sol_cost": 1, "min_sol_output": 1, "track_volume": False}
    args |= {"spendable_sol_in": 1, "min_tokens_out": 1, "spendable_quote_in": 1}
    with pytest.raises(VenueRejected):
        BUILDERS[name](_accounts(vector), args)


def _seed(text: str, keys: dict[str, Pubkey]) -> bytes:
    special = {
        "<pump program id bytes>": addr.PROGRAM_ID,
        "<mpl program id>": Pubkey.from_string(CONSTANTS["programs"]["mpl_token_metadata"]),
        "<mint>": keys["mint"],
        "<user>": keys["user"],
        "<bonding_curve.creator>": keys["creator"],
    }
    return bytes(special[text]) if text in special else text.encode()


def test_pdas_follow_the_idl_seeds() -> None:
    pdas = CONSTANTS["pdas"]
    builders: dict[str, Pubkey] = {
        "global": addr.GLOBAL,
        "event_authority": addr.EVENT_AUTHORITY,
        "global_volume_accumulator": addr.global_volume_accumulator_pda(),
        "fee_config": addr.fee_config_pda(),
        "bonding_curve(mint)": addr.bonding_curve_pda(KEYS["mint"]),
        "bonding_curve_v2(mint)": addr.bonding_curve_v2_pda(KEYS["mint"]),
        "creator_vault(creator)": addr.creator_vault_pda(KEYS["creator"]),
        "user_volume_accumulator(user)": addr.user_volume_accumulator_pda(KEYS["user"]),
        "sharing_config(mint)": addr.sharing_config_pda(KEYS["mint"]),
    }
    for name, address in builders.items():
        spec = pdas[name]
        seeds = [_seed(s, KEYS) for s in spec["seeds"]]
        derived = Pubkey.find_program_address(seeds, Pubkey.from_string(spec["program"]))[0]
        assert str(address) == str(derived) == spec["address"], name
    assert addr.FEE_CONFIG == addr.fee_config_pda()
    assert addr.GLOBAL_VOLUME_ACCUMULATOR == addr.global_volume_accumulator_pda()
    ata = pdas["associated token account"]["example"]
    owner, program, mint = (Pubkey.from_string(ata[k]) for k in ("owner", "token_program", "mint"))
    assert str(addr.associated_token_address(owner, program, mint)) == ata["address"]


def test_fee_recipient_lists_are_the_documented_ones() -> None:
    lists = CONSTANTS["fee_recipients"]
    assert [str(k) for k in addr.NORMAL_FEE_RECIPIENTS] == lists["normal"]
    assert [str(k) for k in addr.BUYBACK_FEE_RECIPIENTS] == lists["buyback"]
    assert [str(k) for k in addr.RESERVED_FEE_RECIPIENTS] == lists["reserved_mayhem"]
    assert FeeRecipients().protocol(is_mayhem=True) in addr.RESERVED_FEE_RECIPIENTS
    assert FeeRecipients().protocol(is_mayhem=False) in addr.NORMAL_FEE_RECIPIENTS


def test_global_account_fee_recipients_are_read_at_the_idl_offsets() -> None:
    offsets = {o["name"]: o["offset"] for o in CONSTANTS["global_account_offsets"]}
    data = bytearray(1088)
    data[:8] = bytes.fromhex(CONSTANTS["account_discriminators"]["Global"]["hex"])

    def put(at: int, keys: tuple[Pubkey, ...]) -> None:
        for i, key in enumerate(keys):
            data[at + 32 * i : at + 32 * (i + 1)] = bytes(key)

    put(offsets["fee_recipient"], addr.NORMAL_FEE_RECIPIENTS[:1])
    put(offsets["fee_recipients[7]"], addr.NORMAL_FEE_RECIPIENTS[1:])
    put(offsets["reserved_fee_recipient"], addr.RESERVED_FEE_RECIPIENTS[:1])
    put(offsets["reserved_fee_recipients[7]"], addr.RESERVED_FEE_RECIPIENTS[1:])
    put(offsets["buyback_fee_recipients[8]"], addr.BUYBACK_FEE_RECIPIENTS)
    parsed = addr.parse_global_fee_recipients(bytes(data))
    assert parsed.normal == addr.NORMAL_FEE_RECIPIENTS
    assert parsed.reserved == addr.RESERVED_FEE_RECIPIENTS
    assert parsed.buyback == addr.BUYBACK_FEE_RECIPIENTS


def test_partial_fill_is_a_trailing_option_bool_without_a_tag() -> None:
    vector = next(v for v in TRADES if v["instruction"] == "buy_v3" and v["coin_kind"] == "mayhem")
    accounts = _accounts(vector)
    assert bytes(ix.buy_v3_instruction(accounts, 5, 6, partial_fill=True).data)[-1:] == b"\x01"
    assert len(ix.buy_v3_instruction(accounts, 5, 6, partial_fill=True).data) == 25
    assert len(ix.buy_instruction(accounts, 5, 6, True, partial_fill=False).data) == 26
    with pytest.raises(VenueRejected):
        ix.buy_instruction(accounts, 2**64, 1)
