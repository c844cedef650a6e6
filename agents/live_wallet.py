"""The live wallet's funds as the risk agent reads them (risk/live_wallet.py), from the RPC node."""

from __future__ import annotations

import logging

from chain.local import LAMPORTS_PER_SOL
from chain.rpc import RpcClient
from chain.rpc.balances import wallet_funds
from core.settings import Settings

log = logging.getLogger(__name__)


class WalletFunds:
    """Reads the wallet's balances (getTokenAccountsByOwner + getBalance) for the risk state."""

    def __init__(self, settings: Settings, owner: str, rpc: RpcClient | None = None) -> None:
        self.rpc = rpc or RpcClient(settings.solana_rpc_url)
        self.owner = owner
        self.reserve_lamports = round(settings.live_fee_reserve_sol * LAMPORTS_PER_SOL)

    async def read(self) -> dict[str, int]:
        return await wallet_funds(self.rpc, self.owner, self.reserve_lamports)
