"""Drift encodings against `tests/venues/vectors/drift.json` (from the current IDL; docs/protocols §4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from solders.pubkey import Pubkey

from venues.drift.execution import (
    CANCEL_ORDER,
    MODIFY_ORDER,
    PLACE_PERP_ORDER,
    PROGRAM_ID,
    Direction,
    MarketType,
    ModifyOrderParams,
    OrderParams,
    OrderType,
    PostOnly,
    TriggerCondition,
    cancel_order_ix,
    modify_order_ix,
    place_perp_order_ix,
    state_pda,
    user_pda,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "vectors" / "drift.json").read_text(encoding="utf-8")
)
AUTHORITY = Pubkey.from_string(VECTORS["accounts"][2]["pubkey"])


def _params(p: dict[str, Any]) -> OrderParams:
    return OrderParams(
        direction=Direction(p["direction"]),
        base_asset_amount=p["base_asset_amount"],
        market_index=p["market_index"],
        order_type=OrderType(p["order_type"]),
        market_type=MarketType(p["market_type"]),
        user_order_id=p["user_order_id"],
        price=p["price"],
        reduce_only=p["reduce_only"],
        post_only=PostOnly(p["post_only"]),
        bit_flags=p["bit_flags"],
        max_ts=p["max_ts"],
        trigger_price=p["trigger_price"],
        trigger_condition=TriggerCondition(p["trigger_condition"]),
        oracle_price_offset=p["oracle_price_offset"],
        auction_duration=p["auction_duration"],
        auction_start_price=p["auction_start_price"],
        auction_end_price=p["auction_end_price"],
    )


def test_program_and_discriminators() -> None:
    assert str(PROGRAM_ID) == VECTORS["program_id"]
    discs = VECTORS["discriminators"]
    assert PLACE_PERP_ORDER.hex() == discs["place_perp_order"]["hex"]
    assert CANCEL_ORDER.hex() == discs["cancel_order"]["hex"]
    assert MODIFY_ORDER.hex() == discs["modify_order"]["hex"]


@pytest.mark.parametrize("case", VECTORS["order_params"], ids=lambda c: c["name"])
def test_order_params_bytes_equal_the_idl_layout(case: dict[str, Any]) -> None:
    params = _params(case["params"])
    assert params.encode().hex() == case["order_params"]["hex"]
    ix = place_perp_order_ix(AUTHORITY, params)
    assert bytes(ix.data).hex() == case["place_perp_order_data"]["hex"]
    # The pre-fix encoding (an extra immediate_or_cancel byte) is what the vector warns about: never again.
    assert params.encode().hex() != case["encoded_by_code_today_when_bit_flags_is_set"]


def test_place_perp_order_accounts_equal_the_idl() -> None:
    ix = place_perp_order_ix(AUTHORITY, _params(VECTORS["order_params"][0]["params"]))
    want = [(a["pubkey"], a["is_writable"], a["is_signer"]) for a in VECTORS["accounts"]]
    assert [(str(m.pubkey), m.is_writable, m.is_signer) for m in ix.accounts] == want
    assert state_pda() == Pubkey.find_program_address([b"drift_state"], PROGRAM_ID)[0]
    assert str(user_pda(AUTHORITY, 0)) == VECTORS["accounts"][1]["pubkey"]


def test_cancel_and_modify_bytes() -> None:
    cancel = VECTORS["cancel_order"]
    assert bytes(cancel_order_ix(AUTHORITY, 42).data).hex() == cancel["order_id_42"]["hex"]
    assert bytes(cancel_order_ix(AUTHORITY, None).data).hex() == cancel["order_id_none"]["hex"]
    args = VECTORS["modify_order"]["args"]
    modify = modify_order_ix(
        AUTHORITY,
        args["order_id"],
        ModifyOrderParams(price=args["price"], bit_flags=args["bit_flags"], policy=args["policy"]),
    )
    assert bytes(modify.data).hex() == VECTORS["modify_order"]["data"]["hex"]
