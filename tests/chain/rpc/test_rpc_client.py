"""RpcClient's calls against a local server answering as the solana-com RPC docs show: what each sends
(params, `minContextSlot`, `searchTransactionHistory`) and what it reads (records, `context.slot`)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from rpc_script import ScriptedRpc, error, result
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from chain.rpc import (
    AccountInfo,
    AtSlot,
    PrioritizationFee,
    RpcClient,
    SignatureStatus,
    TokenAccount,
    TokenBalance,
)
from core.errors import MinContextSlotNotReached, RpcError

OWNER = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"
MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
TOKEN_2022 = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"


@pytest.fixture
async def node() -> AsyncIterator[tuple[ScriptedRpc, RpcClient]]:
    async with ScriptedRpc() as server:
        client = RpcClient(server.url, timeout_s=2)
        try:
            yield server, client
        finally:
            await client.close()


def ctx(value: Any, slot: int = 341_197_053) -> dict[str, Any]:
    return {"context": {"apiVersion": "2.2.3", "slot": slot}, "value": value}


async def test_slot_and_block_height_take_min_context_slot(node: tuple[ScriptedRpc, RpcClient]) -> None:
    server, rpc = node
    server.then(result(341_197_100), result(320_000_000), result(320_000_001))
    assert await rpc.get_slot(min_context_slot=341_197_053) == 341_197_100
    assert await rpc.get_block_height(commitment="finalized", min_context_slot=5) == 320_000_000
    assert await rpc.get_block_height() == 320_000_001
    assert [r["method"] for r in server.requests] == ["getSlot", "getBlockHeight", "getBlockHeight"]
    assert server.requests[0]["params"] == [{"commitment": "confirmed", "minContextSlot": 341_197_053}]
    assert server.requests[1]["params"] == [{"commitment": "finalized", "minContextSlot": 5}]
    assert server.requests[2]["params"] == [{"commitment": "confirmed"}]  # as before when not asked
    server.then(error(-32016, "Minimum context slot has not been reached", {"contextSlot": 341_197_000}))
    with pytest.raises(MinContextSlotNotReached) as behind:
        await rpc.get_latest_blockhash(min_context_slot=341_197_053)
    assert behind.value.data == {"contextSlot": 341_197_000}
    assert server.requests[-1]["params"] == [{"commitment": "confirmed", "minContextSlot": 341_197_053}]


async def test_signature_statuses_report_the_context_slot(node: tuple[ScriptedRpc, RpcClient]) -> None:
    server, rpc = node
    sig = Signature.new_unique()
    landed = {"slot": 72, "confirmations": None, "err": None, "confirmationStatus": "finalized"}
    failed = {"slot": 73, "confirmations": 2, "err": {"InstructionError": [0, {"Custom": 1}]}, "status": {}}
    server.then(result(ctx([landed, None, failed], slot=80)), result(ctx([None], slot=81)))
    found = await rpc.get_signature_statuses_at([sig, "missing", "failed"], search_history=True)
    assert found == AtSlot(
        [
            SignatureStatus(72, None, None, "finalized"),
            None,
            SignatureStatus(73, 2, {"InstructionError": [0, {"Custom": 1}]}, None),
        ],
        80,
    )
    assert server.requests[0]["params"] == [
        [str(sig), "missing", "failed"],
        {"searchTransactionHistory": True},
    ]
    assert await rpc.get_signature_statuses(["x"]) == [None]
    assert server.requests[1]["params"] == [["x"], {"searchTransactionHistory": False}]
    with pytest.raises(ValueError):
        await rpc.get_signature_statuses(["x"] * 257)


async def test_multiple_accounts_are_read_at_one_slot(node: tuple[ScriptedRpc, RpcClient]) -> None:
    server, rpc = node
    data = bytes(range(40))
    account = {
        "data": [base64.b64encode(data).decode(), "base64"],
        "executable": False,
        "lamports": 1_461_600,
        "owner": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
        "rentEpoch": 18_446_744_073_709_551_615,
        "space": 40,
    }
    server.then(result(ctx([account, None], slot=99)))
    a, b = Pubkey.new_unique(), Keypair().pubkey()
    found = await rpc.get_multiple_accounts([a, str(b)], min_context_slot=90)
    assert found == AtSlot([AccountInfo(data, account["owner"], 1_461_600, 99), None], 99)
    assert server.requests[0]["params"] == [
        [str(a), str(b)],
        {"encoding": "base64", "commitment": "confirmed", "minContextSlot": 90},
    ]
    server.then(result(ctx([{**account, "data": ["AQID", "base58"]}])))
    with pytest.raises(RpcError):
        await rpc.get_multiple_accounts([a])
    with pytest.raises(ValueError):
        await rpc.get_multiple_accounts([a] * 101)


def parsed_token_account(pubkey: str, mint: str, amount: int, decimals: int, program: str) -> dict[str, Any]:
    info = {
        "isNative": False,
        "mint": mint,
        "owner": OWNER,
        "state": "initialized",
        "tokenAmount": {"amount": str(amount), "decimals": decimals, "uiAmount": amount / 10**decimals},
    }
    data = {"parsed": {"info": info, "type": "account"}, "program": "spl-token", "space": 165}
    account = {"data": data, "executable": False, "lamports": 2_039_280, "owner": program, "space": 165}
    return {"pubkey": pubkey, "account": account}


async def test_token_accounts_by_owner_by_mint_or_program(node: tuple[ScriptedRpc, RpcClient]) -> None:
    server, rpc = node
    token, held = (
        "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
        "C2gJg6tKpQs41PRS1nC8aw3ZKNZK3HQQZGVrDFDup5nx",
    )
    server.then(
        result(ctx([parsed_token_account(held, MINT, 1_500_000, 6, token)])),
        result(ctx([], slot=7)),
    )
    usdc = await rpc.get_token_accounts_by_owner(OWNER, mint=MINT, min_context_slot=1)
    assert usdc == AtSlot([TokenAccount(held, MINT, OWNER, 1_500_000, 6, token)], 341_197_053)
    assert server.requests[0]["params"] == [
        OWNER,
        {"mint": MINT},
        {"encoding": "jsonParsed", "commitment": "confirmed", "minContextSlot": 1},
    ]
    assert await rpc.get_token_accounts_by_owner(Pubkey.from_string(OWNER), program_id=TOKEN_2022) == AtSlot(
        [], 7
    )
    assert server.requests[1]["params"][1] == {"programId": TOKEN_2022}


async def test_recent_prioritization_fees(node: tuple[ScriptedRpc, RpcClient]) -> None:
    server, rpc = node
    server.then(
        result([{"slot": 348_125, "prioritizationFee": 0}, {"slot": 348_126, "prioritizationFee": 1000}]),
        result([]),
    )
    fees = await rpc.get_recent_prioritization_fees([MINT, Pubkey.from_string(OWNER)])
    assert fees == [PrioritizationFee(348_125, 0), PrioritizationFee(348_126, 1000)]
    assert server.requests[0]["params"] == [[MINT, OWNER]]
    assert await rpc.get_recent_prioritization_fees() == []
    assert server.requests[1]["params"] == []
    with pytest.raises(ValueError):
        await rpc.get_recent_prioritization_fees([MINT] * 129)


def transaction_answer(transaction: Any) -> dict[str, Any]:
    balance = {
        "accountIndex": 2,
        "mint": MINT,
        "owner": OWNER,
        "programId": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
        "uiTokenAmount": {"amount": "1000000", "decimals": 6, "uiAmount": 1.0, "uiAmountString": "1"},
    }
    meta = {
        "computeUnitsConsumed": 44_000,
        "err": None,
        "fee": 5000,
        "logMessages": ["Program 11111111111111111111111111111111 invoke [1]"],
        "postBalances": [994_995_000, 5_000_000],
        "postTokenBalances": [{**balance, "uiTokenAmount": {"amount": "0", "decimals": 6}}],
        "preBalances": [1_000_000_000, 0],
        "preTokenBalances": [balance],
        "status": {"Ok": None},
    }
    return {"blockTime": 1_735_000_000, "meta": meta, "slot": 430, "transaction": transaction, "version": 0}


async def test_transaction_record_base64_or_json_parsed(node: tuple[ScriptedRpc, RpcClient]) -> None:
    server, rpc = node
    raw = b"\x01" + bytes(64) + b"\x80"
    parsed_tx = {"message": {"accountKeys": []}, "signatures": ["s"]}
    server.then(
        result(transaction_answer([base64.b64encode(raw).decode(), "base64"])),
        result(transaction_answer(parsed_tx)),
        result(None),
    )
    sig = Signature.new_unique()
    record = await rpc.get_transaction_record(sig)
    assert record is not None
    assert (record.slot, record.block_time, record.fee, record.err) == (430, 1_735_000_000, 5000, None)
    assert record.logs == ["Program 11111111111111111111111111111111 invoke [1]"]
    assert (record.pre_balances, record.post_balances) == ([1_000_000_000, 0], [994_995_000, 5_000_000])
    spl = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"  # the entry's programId
    assert record.pre_token_balances == [TokenBalance(2, MINT, OWNER, 1_000_000, 6, spl)]
    assert record.post_token_balances == [TokenBalance(2, MINT, OWNER, 0, 6, spl)]
    assert (record.compute_units_consumed, record.transaction, record.parsed) == (44_000, raw, None)
    assert server.requests[0]["params"] == [
        str(sig),
        {"encoding": "base64", "commitment": "confirmed", "maxSupportedTransactionVersion": 0},
    ]
    as_parsed = await rpc.get_transaction_record("s", encoding="jsonParsed", commitment="finalized")
    assert as_parsed is not None and as_parsed.parsed == parsed_tx and as_parsed.transaction is None
    assert server.requests[1]["params"][1]["encoding"] == "jsonParsed"
    assert await rpc.get_transaction_record("unknown") is None
    with pytest.raises(ValueError):
        await rpc.get_transaction_record("s", encoding="json")
