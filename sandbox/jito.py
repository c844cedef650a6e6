"""The sandbox's Jito-shaped block engine (JSON-RPC on `/api/v1/bundles`, tip floor on
`/api/v1/bundles/tip_floor`; shapes from Jito's docs, docs.jito.wtf/lowlatencytxnsend) on the sandbox's
chain: a bundle lands atomically or not at all."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from sandbox.rpc import SandboxRpc
from venues.jito.execution import TIP_ACCOUNTS

# One entry as `GET /api/v1/bundles/tip_floor` answers it (SOL floats; docs.jito.wtf, "Get Tip Information").
DEFAULT_TIP_FLOOR: Any = [
    {
        "time": "2026-12-01T00:00:00Z",
        "landed_tips_25th_percentile": 0.000001,
        "landed_tips_50th_percentile": 0.00001,
        "landed_tips_75th_percentile": 0.00004,
        "landed_tips_95th_percentile": 0.0001,
        "landed_tips_99th_percentile": 0.001,
        "ema_landed_tips_50th_percentile": 0.00001,
    }
]


class SandboxJito:
    """The block engine on the sandbox's chain: `POST /api/v1/bundles` (sendBundle executes the bundle's
    transactions; getBundleStatuses; getInflightBundleStatuses) and `GET /api/v1/bundles/tip_floor`.

    `min_gap_s` plays the rate limit: a request closer than that to the previous accepted one is answered
    429 (the documented default is one request per second per IP). `outcome` is what happens to a bundle:
    "land" (executed, all or none: a bundle one of whose transactions would not land is dropped),
    "fail" (every region failed it: never executed, inflight status Failed), "pend" (accepted, never
    executed, Pending). `throttle_first` answers the first N requests 429 whatever the pace. Every
    request's arrival time is kept in `times`.
    """

    def __init__(
        self,
        rpc: SandboxRpc,
        *,
        min_gap_s: float = 0.0,
        outcome: str = "land",
        throttle_first: int = 0,
        tip_floor: Any = DEFAULT_TIP_FLOOR,
    ) -> None:
        self.rpc = rpc
        self.bundles: dict[str, list[str]] = {}
        self.min_gap_s = min_gap_s
        self.outcome = outcome
        self.throttle_first = throttle_first
        self.tip_floor_body = tip_floor
        self.times: list[float] = []
        self.methods: list[str] = []
        self.rate_limited = 0
        self._last_accepted = float("-inf")
        self.tip_accounts: tuple[Pubkey, ...] = ()
        self.use_tip_accounts(TIP_ACCOUNTS)

    def use_tip_accounts(self, accounts: Sequence[Pubkey]) -> None:
        """The accounts `getTipAccounts` names from now on (the block engine may change them), each funded
        to rent exemption so a small tip lands."""
        self.tip_accounts = tuple(accounts)
        for account in self.tip_accounts:
            self.rpc.svm.airdrop(account, 1_000_000_000)

    async def tip_floor(self, request: web.Request) -> web.Response:
        return web.json_response(self.tip_floor_body)

    def routes(self, prefix: str = "/api/v1/bundles") -> list[tuple[str, str, Any]]:
        return [("POST", prefix, self.handle), ("GET", f"{prefix}/tip_floor", self.tip_floor)]

    def _limited(self, now: float) -> bool:
        if self.throttle_first > 0:
            self.throttle_first -= 1
            return True
        if now - self._last_accepted < self.min_gap_s:
            return True
        self._last_accepted = now
        return False

    async def handle(self, request: web.Request) -> web.Response:
        now = time.monotonic()
        body = await request.json()
        method, params, rid = body["method"], body["params"], body.get("id")
        self.times.append(now)
        self.methods.append(method)
        if self._limited(now):
            self.rate_limited += 1
            error = {"code": 429, "message": "Rate limit exceeded. Limit: 1 per second for txn requests"}
            return web.json_response(
                {"jsonrpc": "2.0", "error": error, "id": rid}, status=429, headers={"Retry-After": "0.05"}
            )
        if method == "sendBundle":
            if len(params) < 2 or params[1] != {"encoding": "base64"} or not 1 <= len(params[0]) <= 5:
                error = {"code": -32602, "message": "bundle must be 1-5 base64 transactions"}
                return web.json_response({"jsonrpc": "2.0", "error": error, "id": rid})
            raws = [base64.b64decode(tx) for tx in params[0]]
            sigs = [str(VersionedTransaction.from_bytes(raw).signatures[0]) for raw in raws]
            if self.outcome == "land" and all(self.rpc.would_land(raw) for raw in raws):
                for raw in raws:  # all or nothing: each one was checked against the chain first
                    self.rpc.execute(raw)
            bundle_id = hashlib.sha256("".join(sigs).encode()).hexdigest()
            self.bundles[bundle_id] = sigs
            return web.json_response({"jsonrpc": "2.0", "result": bundle_id, "id": rid})
        if method == "getBundleStatuses":
            value = []
            for bid in params[0]:
                held = self.bundles.get(bid)
                landed = held is not None and all(sig in self.rpc.landed for sig in held)
                value.append(
                    None
                    if not landed
                    else {
                        "bundle_id": bid,
                        "transactions": held,
                        "slot": self.rpc.height(),
                        "confirmation_status": "confirmed",
                        "err": {"Ok": None},
                    }
                )
            return web.json_response(
                {"jsonrpc": "2.0", "result": {"context": {"slot": 1}, "value": value}, "id": rid}
            )
        if method == "getInflightBundleStatuses":
            value = [self._inflight(bid) for bid in params[0]]
            result = {"context": {"slot": self.rpc.height()}, "value": value}
            return web.json_response({"jsonrpc": "2.0", "result": result, "id": rid})
        if method == "getTipAccounts":
            tips = [str(account) for account in self.tip_accounts]
            return web.json_response({"jsonrpc": "2.0", "result": tips, "id": rid})
        error = {"code": -32601, "message": "Method not found"}
        return web.json_response({"jsonrpc": "2.0", "error": error, "id": rid})

    def _inflight(self, bundle_id: str) -> dict[str, Any]:
        sigs = self.bundles.get(bundle_id)
        if sigs is None:
            return {"bundle_id": bundle_id, "status": "Invalid", "landed_slot": None}
        if all(sig in self.rpc.landed for sig in sigs):
            slot = self.rpc.landed[sigs[0]][0]
            return {"bundle_id": bundle_id, "status": "Landed", "landed_slot": slot}
        status = "Failed" if self.outcome == "fail" else "Pending"
        return {"bundle_id": bundle_id, "status": status, "landed_slot": None}
