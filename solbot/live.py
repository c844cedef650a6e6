"""`solbot run --live`: the opt-in, the keystore unlocked once, the passphrase handed to the workers, and
the run's live figures (orders landed, database against chain).

Live trading needs all of: the `live_trading` setting (LIVE_TRADING=true), `--live`, and a typed
confirmation at a terminal (the word LIVE) or `--yes` for unattended runs. The passphrase comes from
`--passphrase-fd N`, `SOLBOT_WALLET_PASSPHRASE` or a prompt, never an argument; the keystore is unlocked
here once to prove it, and each worker receives the passphrase through a pipe (a file descriptor it
inherits, `SOLBOT_LIVE_PASSPHRASE_FD`), never through its environment or command line.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import asyncpg

from agents.live_wallet import WalletFunds
from chain.rpc import RpcClient
from core.config import endpoint
from core.errors import ConfigError, SolbotError
from core.settings import Settings
from market.balances import compare_balances
from store.live_orders import landed_orders
from store.portfolio import read_balances
from wallet import keystore
from wallet.keystore import Passphrase

PASSPHRASE_FD_ENV = "SOLBOT_LIVE_PASSPHRASE_FD"
CONFIRM_WORD = "LIVE"


@dataclass(frozen=True)
class LivePlan:
    """What the runner needs to start live workers: the wallet's address and its passphrase (hidden)."""

    address: str
    passphrase: Passphrase
    dry_run: bool
    wallet_path: Path  # absolute: a worker has its own data dir

    def pipe_for_worker(self) -> int:
        """A pipe's read end holding the passphrase (one line), for one worker to inherit and read."""
        read, write = os.pipe()
        try:
            os.write(write, self.passphrase.reveal() + b"\n")
        finally:
            os.close(write)
        return read


def plan_live(
    settings: Settings,
    *,
    yes: bool,
    dry_run: bool,
    passphrase_fd: int | None,
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stderr,
) -> LivePlan:
    """Check the opt-in, ask for the confirmation, unlock the keystore once; ConfigError or SolbotError
    (one line) when any of it is missing."""
    if not settings.live_trading:
        raise ConfigError("--live needs the setting LIVE_TRADING=true (docs/live.md): nothing was sent")
    path = settings.wallet_path or settings.data_dir / "wallet.json"
    if not path.exists():
        raise ConfigError(f"--live needs a wallet: no keystore at {path} (`solbot wallet new` or `import`)")
    address = keystore.address(path)
    if settings.market_source == "sim" and not dry_run:
        raise ConfigError(
            "--live would trade real funds on the simulated market's prices (MARKET_SOURCE=sim): "
            "set MARKET_SOURCE=chain or leave it unset; nothing was sent"
        )
    if not yes and not stdin.isatty():
        raise ConfigError("--live needs a typed confirmation at a terminal, or --yes for unattended runs")
    mode = "DRY RUN (build, sign, simulate; never send)" if dry_run else "LIVE: real transactions"
    node = endpoint(settings.solana_rpc_url)
    print(f"solbot: {mode} from wallet {address} via {node}", file=out, flush=True)
    if not yes:
        print(f"Type {CONFIRM_WORD} to trade with this wallet: ", end="", file=out, flush=True)
        if stdin.readline().strip() != CONFIRM_WORD:
            raise SolbotError("live trading not confirmed: nothing was sent")
    passphrase = keystore.read_passphrase(fd=passphrase_fd)
    keystore.unlock(path, passphrase)  # proves the passphrase before any worker starts
    return LivePlan(address, passphrase, dry_run, path.resolve())


def live_market(settings: Settings) -> Settings:
    """The settings a live run trades with: `MARKET_SOURCE=auto` is the chain's market (the live
    collectors); an explicit `sim` stays (`plan_live` allows it for dry runs only)."""
    if settings.market_source != "auto":
        return settings
    return settings.model_copy(update={"market_source": "chain"})


async def chain_balances(settings: Settings, address: str) -> dict[str, int]:
    """The wallet's funds on chain now (its tokens, and its native SOL above the fee reserve as SOL, as
    live execution books them): what a live run's PnL is measured from. The database's
    wallet is no opening for live: before the workers seed it from the chain it holds nothing, or what
    an earlier paper run left (the paper opening balances would make the PnL meaningless)."""
    rpc = RpcClient(settings.solana_rpc_url)
    try:
        return await WalletFunds(settings, address, rpc).read()
    finally:
        await rpc.close()


async def live_figures(settings: Settings, database_url: str, address: str) -> dict[str, Any]:
    """`landed` (orders whose transaction landed) and `chain_mismatches` (mints whose database balance
    differs from the chain's; 0 when the database equals the chain), read at the end of a run."""
    conn = await asyncpg.connect(database_url)
    try:
        landed = await landed_orders(conn, settings.portfolio)
        db = {b.mint: int(b.amount) for b in await read_balances(conn, settings.portfolio)}
    finally:
        await conn.close()
    rpc = RpcClient(settings.solana_rpc_url)
    try:
        chain = await WalletFunds(settings, address, rpc).read()
    finally:
        await rpc.close()
    return {"landed": landed, "chain_mismatches": len(compare_balances(db, chain))}
