"""The sandbox's Solana JSON-RPC server over a `LocalChain` (LiteSVM), in the wire format of the Solana RPC
docs (solana-com/solana-com, content/docs/en/rpc/http/*.mdx).

It really executes what it is sent: balances move, signatures verify, and a blockhash is valid for exactly
`window` block heights (the SVM only accepts its latest blockhash, so the server rotates it exactly when the
previous one expires; mainnet's window is 150). Block height advances with wall time, one slot per
`slot_s` (mainnet: 0.4 s). Programs the SVM does not have (Pump.fun) are played by a `ProgramDouble`
registered on the server: it checks the transaction and executes the program's effect as SPL transfers.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from typing import Any, Protocol

import orjson
from aiohttp import web
from solders.account import Account
from solders.pubkey import Pubkey
from solders.rpc.responses import RpcSimulateTransactionResult
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata
from solders.transaction_status import TransactionErrorFieldless

from chain.local import MEMO_PROGRAM_ID, LocalChain
from sandbox.faults import ROLLBACK_SLOTS, Faults
from sandbox.history import (
    Record,
    Snapshot,
    account_keys,
    fee_of,
    snapshot,
    token_account_json,
    transaction_json,
)

LogHook = Callable[[list[Pubkey], Snapshot, Snapshot], tuple[list[str], list[str]]]


class ProgramDouble(Protocol):
    """A program the SVM does not have, played by the sandbox."""

    def run(self, tx: VersionedTransaction, *, execute: bool) -> tuple[object, int]:
        """(the wire error or None, units consumed); with `execute`, its effect happens on the chain."""
        ...

    def logs(self) -> list[str]:
        """The program's own log lines (its events) for the transaction it last executed."""
        ...


class SandboxRpc:
    """The Solana JSON-RPC server over a `LocalChain`."""

    def __init__(
        self, chain: LocalChain, *, slot_s: float = 0.02, window: int = 40, faults: Faults | None = None
    ):
        self.chain = chain
        self.svm = chain.svm
        self.slot_s = slot_s
        self.window = window
        self.faults = faults or Faults()
        self.hang_s = 1.0
        self._start = time.monotonic()
        self._epoch = 0
        self.landed: dict[str, tuple[int, object, str]] = {}  # signature -> (slot, err, memo)
        self.executed_memos: dict[str, int] = {}
        self.programs: dict[Pubkey, ProgramDouble] = {}
        self.accounts: dict[str, Callable[[], tuple[bytes, str]]] = {}  # address -> (data, owner), served
        self.sent = 0  # sendTransaction calls that reached the chain
        self.recent_fees: list[int] = []  # getRecentPrioritizationFees, one entry per recent slot
        self.methods: dict[str, int] = {}  # requests by method
        self.simulated: list[VersionedTransaction] = []  # what simulateTransaction was given
        self.details: dict[str, tuple[list[str], list[str]]] = {}  # signature -> (logs, account keys)
        # A resend of a landed transaction under preflight: -32002 AlreadyProcessed, as a node answers
        # (False: its signature, as the double did before the sandbox; for clients that cannot take it yet).
        self.already_processed_error = True
        self.rolled_back: dict[str, int] = {}  # signature -> the slot it was seen processed in
        self.history: dict[str, Record] = {}  # signature -> what getTransaction answers
        self._pending: tuple[list[Pubkey], Snapshot, tuple[list[str], list[str]]] = (
            [],
            Snapshot([], []),
            ([], []),
        )
        self.log_hooks: list[LogHook] = []  # (keys, pre, post) -> (log lines, mentioned keys)
        self.on_landed: list[Callable[[str, int, object], None]] = []  # (signature, slot, err) listeners
        self.lag = self.faults.lag_slots  # the lag of the node answering the request being dispatched
        # Report each chain mint as the mainnet mint it stands for (token balances, token accounts), as a
        # mainnet node would; off for a bare chain whose tests read the chain's own mint addresses.
        self.mainnet_mints = False

    def add_lookup_table(self, addresses: list[Pubkey]) -> Pubkey:
        """An address lookup table holding `addresses`, on the chain (the SVM resolves v0 lookups)."""
        address = Pubkey.new_unique()
        self.svm.set_account(
            address,
            Account(
                lamports=10**9, data=lookup_table_data(addresses), owner=ALT_PROGRAM_ID, executable=False
            ),
        )
        if self.svm.get_clock().slot < 1:  # tables may not be used in the slot they were extended
            self.svm.warp_to_slot(1)
        return address

    def program_of(self, tx: VersionedTransaction) -> ProgramDouble | None:
        keys = list(tx.message.account_keys)
        for ix in tx.message.instructions:
            double = self.programs.get(keys[ix.program_id_index])
            if double is not None:
                return double
        return None

    def height(self) -> int:
        height = int((time.monotonic() - self._start) / self.slot_s)
        epoch = height // self.window
        while self._epoch < epoch:
            self.svm.expire_blockhash()
            self._epoch += 1
        return height

    def last_valid(self) -> int:
        return (self.height() // self.window + 1) * self.window - 1

    def execute(self, raw: bytes) -> str:
        """Run a transaction if its blockhash is current; returns its signature either way."""
        tx = VersionedTransaction.from_bytes(raw)
        signature = str(tx.signatures[0])
        self.height()
        if signature in self.landed:
            return signature
        keys, writable, readonly = account_keys(self.svm, tx)
        self._pending = (keys, snapshot(self.svm, keys), (writable, readonly))
        double = self.program_of(tx)
        if double is not None:
            if not self.blockhash_current(raw) or not all(tx.verify_with_results()):
                return signature  # dropped, as the SVM drops a stale or badly signed transaction
            err, units = double.run(tx, execute=True)
            program = str(next(k for k, d in self.programs.items() if d is double))
            events = [] if err else double.logs()
            logs = [f"Program {program} invoke [1]", *events] + (
                [f"Program {program} failed: custom program error"]
                if err
                else [
                    f"Program {program} consumed {units} of 200000 compute units",
                    f"Program {program} success",
                ]
            )
            self._land(tx, err, logs, units)
            return signature
        result = self.svm.send_transaction(tx)
        if isinstance(result, FailedTransactionMetadata):
            if result.err() == TransactionErrorFieldless.BlockhashNotFound:
                return signature  # dropped: its blockhash is gone
            meta = result.meta()
            self._land(tx, str(result.err()), list(meta.logs()), meta.compute_units_consumed(), result.err())
            return signature
        self._land(tx, None, list(result.logs()), result.compute_units_consumed())
        return signature

    def would_land(self, raw: bytes) -> bool:
        """Whether `raw` would land without error now (a bundle lands only if each of its would)."""
        tx = VersionedTransaction.from_bytes(raw)
        if str(tx.signatures[0]) in self.landed or not self.blockhash_current(raw):
            return False
        if not all(tx.verify_with_results()):
            return False
        double = self.program_of(tx)
        if double is not None:
            return double.run(tx, execute=False)[0] is None
        return not isinstance(self.svm.simulate_transaction(tx), FailedTransactionMetadata)

    def _land(
        self, tx: VersionedTransaction, err: object, logs: list[str], units: int, svm_err: object = None
    ) -> None:
        """Record a transaction that made it into a slot (ok or failed) and tell the listeners."""
        signature, memo = str(tx.signatures[0]), _memo(tx)
        slot = self.height()
        self.landed[signature] = (slot, err, memo)
        keys, pre, loaded = self._pending
        wire = wire_error(svm_err) if svm_err is not None else err
        post = snapshot(self.svm, keys)
        mentioned = [str(k) for k in tx.message.account_keys]
        if err is None:
            for hook in self.log_hooks:  # programs the sandbox plays on top of the SVM's transfers
                lines, extra = hook(keys, pre, post)
                logs += lines
                mentioned += extra
        self.details[signature] = (logs, mentioned)
        self.history[signature] = Record(
            slot, int(time.time()), bytes(tx), wire, logs, units, fee_of(tx), pre, post, loaded
        )
        if err is None:
            self.executed_memos[memo] = self.executed_memos.get(memo, 0) + 1
        self._announce(signature)

    def _announce(self, signature: str) -> None:
        slot, err, _memo_text = self.landed[signature]
        for listener in self.on_landed:
            listener(signature, slot, err)

    def blockhash_current(self, raw: bytes) -> bool:
        tx = VersionedTransaction.from_bytes(raw)
        self.height()
        return tx.message.recent_blockhash == self.svm.latest_blockhash()

    async def handle(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            method, params, rid = str(body["method"]), body.get("params") or [], body.get("id")
        except (ValueError, KeyError, TypeError):  # not a JSON-RPC request: what a node answers
            error = {"code": -32700, "message": "Parse error"}
            return web.json_response({"jsonrpc": "2.0", "error": error, "id": None})
        self.methods[method] = self.methods.get(method, 0) + 1
        send = method == "sendTransaction"
        kinds = (
            ("timeout", "rate_limit", "blockhash_not_found", "drop", "rollback")
            if send
            else ("timeout", "rate_limit")
        )
        fault = self.faults.draw(*kinds)
        if fault == "rate_limit":
            error = {"code": 429, "message": "Too many requests for a specific RPC call"}
            return web.json_response(
                {"jsonrpc": "2.0", "error": error, "id": rid}, status=429, headers={"Retry-After": "0.01"}
            )
        if fault == "timeout":
            if send and self.faults.rng.random() < 0.5:
                self.execute(base64.b64decode(params[0]))  # it landed, but the client will not hear so
            await asyncio.sleep(self.hang_s)
        self.lag = self.faults.draw_lag()  # dispatch is synchronous: no other request sees this value
        try:
            result = self.dispatch(method, params, fault)
        except RpcFault as exc:
            return web.json_response({"jsonrpc": "2.0", "error": exc.error, "id": rid})
        except (ValueError, KeyError, TypeError, IndexError) as exc:  # bad params: never a 500
            error = {"code": -32602, "message": f"Invalid params: {type(exc).__name__}"}
            return web.json_response({"jsonrpc": "2.0", "error": error, "id": rid})
        return web.json_response({"jsonrpc": "2.0", "result": result, "id": rid})

    def dispatch(self, method: str, params: list[Any], fault: str) -> Any:
        context = {"slot": self.height()}
        if method == "getBlockHeight":
            return self.height() - self.lag
        if method == "getLatestBlockhash":
            value = {"blockhash": str(self.svm.latest_blockhash()), "lastValidBlockHeight": self.last_valid()}
            return {"context": context, "value": value}
        if method == "sendTransaction":
            raw = base64.b64decode(params[0])
            skip = bool(params[1].get("skipPreflight")) if len(params) > 1 else False
            if fault == "blockhash_not_found" or (not skip and not self.blockhash_current(raw)):
                data = {"err": "BlockhashNotFound", "logs": [], "unitsConsumed": 0}
                raise RpcFault(
                    {
                        "code": -32002,
                        "message": "Transaction simulation failed: Blockhash not found",
                        "data": data,
                    }
                )
            tx = VersionedTransaction.from_bytes(raw)
            if (
                self.already_processed_error and not skip and str(tx.signatures[0]) in self.landed
            ):  # preflight sees it already executed
                data = {"err": "AlreadyProcessed", "logs": [], "unitsConsumed": 0}
                message = "Transaction simulation failed: This transaction has already been processed"
                raise RpcFault({"code": -32002, "message": message, "data": data})
            if fault == "drop":
                return str(tx.signatures[0])
            if fault == "rollback":  # processed in a slot that will not survive: never executed
                self.rolled_back[str(tx.signatures[0])] = self.height()
                return str(tx.signatures[0])
            self.sent += 1
            return self.execute(raw)
        if method == "simulateTransaction":
            raw = base64.b64decode(params[0])
            tx = VersionedTransaction.from_bytes(raw)
            self.simulated.append(tx)
            double = self.program_of(tx)
            if double is not None:
                if not self.blockhash_current(raw):
                    value = {"err": "BlockhashNotFound", "logs": [], "unitsConsumed": 0}
                else:
                    err, units = double.run(tx, execute=False)
                    value = {"err": err, "logs": [], "unitsConsumed": 0 if err else units}
                return {"context": context, "value": value}
            sim = self.svm.simulate_transaction(tx)
            if isinstance(sim, FailedTransactionMetadata):
                value = {"err": wire_error(sim.err()), "logs": list(sim.meta().logs()), "unitsConsumed": 0}
            else:
                meta = sim.meta()
                value = {
                    "err": None,
                    "logs": list(meta.logs()),
                    "unitsConsumed": meta.compute_units_consumed(),
                }
            return {"context": context, "value": value}
        if method == "getSignatureStatuses":
            now = self.height()
            return {
                "context": {"slot": now - self.lag},
                "value": [self.status(g, now) for g in params[0]],
            }
        if method == "getAccountInfo":
            return {"context": context, "value": self.account_value(params[0])}
        if method == "getMultipleAccounts":
            return {"context": context, "value": [self.account_value(a) for a in params[0]]}
        if method == "getRecentPrioritizationFees":
            start = self.height() - len(self.recent_fees)
            return [{"slot": start + i, "prioritizationFee": f} for i, f in enumerate(self.recent_fees)]
        return self.dispatch_wallet(method, params, context)

    def dispatch_wallet(self, method: str, params: list[Any], context: dict[str, int]) -> Any:
        """The clock and lamport methods (getSlot, getBalance, requestAirdrop)."""
        if method == "getTransaction":
            record = self.history.get(params[0])
            encoding = (params[1] if len(params) > 1 else {}).get("encoding", "json")
            if record is None:
                return None
            answer = transaction_json(record, encoding)
            meta = answer.get("meta") or {}
            for key in ("preTokenBalances", "postTokenBalances"):
                for entry in meta.get(key) or []:
                    entry["mint"] = self.mint_name(entry["mint"])
            return answer
        if method == "getTokenAccountsByOwner":
            return {"context": context, "value": self.token_accounts(params[0], params[1])}
        if method == "getSlot":
            return self.height() - self.lag
        if method == "getEpochInfo":  # slot and height of one answer: what a slot-consistent proof needs
            now = self.height() - self.lag
            return {
                "absoluteSlot": now, "blockHeight": now, "epoch": now // 432_000, "slotIndex": now % 432_000,
                "slotsInEpoch": 432_000, "transactionCount": len(self.history),
            }  # fmt: skip
        if method == "getSignaturesForAddress":
            return self.signatures_for(params[0], params[1] if len(params) > 1 else {})
        if method == "getBalance":
            held = self.svm.get_account(Pubkey.from_string(params[0]))
            return {"context": context, "value": 0 if held is None else held.lamports}
        if method == "requestAirdrop":
            result = self.svm.airdrop(Pubkey.from_string(params[0]), int(params[1]))
            if isinstance(result, FailedTransactionMetadata):
                raise RpcFault({"code": -32600, "message": f"airdrop failed: {result.err()}"})
            signature = str(result.signature())
            self.landed[signature] = (self.height(), None, "")
            self._announce(signature)
            return signature
        raise RpcFault({"code": -32601, "message": "Method not found"})

    def status(self, signature: str, now: int) -> dict[str, Any] | None:
        """One `getSignatureStatuses` entry as this node sees it at `now` (faults applied)."""
        seen = self.rolled_back.get(signature)
        if seen is not None and seen <= now - self.lag < seen + ROLLBACK_SLOTS:
            return {"slot": seen, "confirmations": 0, "err": None, "confirmationStatus": "processed"}
        hit = self.landed.get(signature)
        seen_at = now - self.lag
        if hit is None or hit[0] > seen_at:
            return None
        confirmed = self.faults.visible(
            hit[0], now, self.lag
        )  # slow: "processed" until the cluster confirms it
        return {
            "slot": hit[0],
            "confirmations": 1 if confirmed else 0,
            "err": None if hit[1] is None else {"InstructionError": hit[1]},
            "confirmationStatus": "confirmed" if confirmed else "processed",
        }

    def signatures_for(self, address: str, config: dict[str, Any]) -> list[dict[str, Any]]:
        """`getSignaturesForAddress`: the landed transactions naming `address`, newest first, each with its
        memo as a node writes it (`[length] text`); -32016 below `minContextSlot`."""
        seen_at = self.height() - self.lag
        wanted = config.get("minContextSlot")
        if wanted is not None and seen_at < int(wanted):
            message = f"Minimum context slot has not been reached (context slot {seen_at})"
            raise RpcFault({"code": -32016, "message": message, "data": {"contextSlot": seen_at}})
        out = []
        for signature, (slot, err, memo) in reversed(list(self.landed.items())):
            if slot > seen_at or address not in self.details.get(signature, ([], []))[1]:
                continue
            out.append({
                "signature": signature, "slot": slot, "blockTime": None, "confirmationStatus": "confirmed",
                "err": None if err is None else {"InstructionError": err},
                "memo": f"[{len(memo.encode())}] {memo}" if memo else None,
            })  # fmt: skip
            if len(out) >= int(config.get("limit", 1000)):
                break
        return out

    def token_accounts(self, owner: str, selector: dict[str, str]) -> list[dict[str, Any]]:
        """The owner's token accounts among those the sandbox knows (the chain's wallet accounts and
        vaults, and every account a landed transaction named), filtered by mint or token program."""
        known = {self.chain.wallet_account(m) for m in self.chain.mints()}
        for record in self.history.values():
            known.update(account_keys(self.svm, VersionedTransaction.from_bytes(record.raw))[0])
        out = []
        for address in sorted(known, key=str):
            account = self.svm.get_account(address)
            entry = None if account is None else token_account_json(address, account, self.svm)
            if entry is None:
                continue
            info = entry["account"]["data"]["parsed"]["info"]
            info["mint"] = self.mint_name(info["mint"])
            if info["owner"] != owner:
                continue
            if "mint" in selector and info["mint"] != selector["mint"]:
                continue
            if "programId" in selector and entry["account"]["owner"] != selector["programId"]:
                continue
            out.append(entry)
        return out

    def mint_name(self, address: str) -> str:
        """The mint a chain mint stands for (with `mainnet_mints`), else the address itself."""
        if not self.mainnet_mints:
            return address
        names = {str(chain_mint): name for name, chain_mint in self.chain.mints().items()}
        return names.get(address, address)

    def account_value(self, address: str) -> dict[str, Any] | None:
        """An account as `getAccountInfo` writes it: a served one, else what the SVM holds, else None."""
        source = self.accounts.get(address)
        if source is not None:
            data, owner = source()
        else:
            held = self.svm.get_account(Pubkey.from_string(address))
            if held is None:
                return None
            data, owner = bytes(held.data), str(held.owner)
        return {
            "data": [base64.b64encode(data).decode(), "base64"],
            "owner": owner,
            "lamports": 1_461_600,
            "executable": False,
            "space": len(data),
        }


ALT_PROGRAM_ID = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")


def lookup_table_data(addresses: list[Pubkey]) -> bytes:
    """An active lookup table as the program lays it out: u32 state 1, deactivation slot u64::MAX,
    last extended slot 0, start index 0, no authority, padded to the 56-byte header; then the keys."""
    header = (1).to_bytes(4, "little") + (2**64 - 1).to_bytes(8, "little") + bytes(8) + bytes([0, 0])
    return header.ljust(56, b"\0") + b"".join(bytes(a) for a in addresses)


def wire_error(err: Any) -> Any:
    """A solders TransactionError as a node writes it in JSON ("BlockhashNotFound",
    {"InstructionError": [0, {"Custom": 1}]}): solders serializes it inside a simulation result."""
    result = RpcSimulateTransactionResult(err=err, logs=None, accounts=None, units_consumed=None)
    return orjson.loads(result.to_json())["err"]


class RpcFault(Exception):
    """A JSON-RPC error object, raised by a method and answered as `error`."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["message"])
        self.error = error


def _memo(tx: VersionedTransaction) -> str:
    keys = list(tx.message.account_keys)
    for ix in tx.message.instructions:
        if keys[ix.program_id_index] == MEMO_PROGRAM_ID:
            return bytes(ix.data).decode("utf-8")
    return ""
