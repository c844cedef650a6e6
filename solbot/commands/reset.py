"""`solbot reset --yes`: bind the database to the broker it now runs against, on purpose.

Clears the state that only means something against the old broker's data (sink offsets, model
checkpoints, the unsent fills outbox) and records this broker's identity. The books (orders, fills,
balances, positions, decisions) are kept. Without `--yes` it only says what it would do.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from core.settings import Settings
from services.stack import Stack
from solbot.identity import reset_broker_state
from store.migrate import migrate
from streams.broker import bootstrap_of
from streams.broker_auth import broker_auth

WHAT = "the sink offsets, the model checkpoints and the unsent fills outbox"


def add_parser(subparsers: Any) -> None:
    """Add `reset`."""
    p = subparsers.add_parser(
        "reset", help="after the broker lost its data: clear the offsets and model checkpoints bound to it"
    )
    p.add_argument("--yes", action="store_true", help="do it (without: say what would be cleared)")


def main(settings: Settings, args: argparse.Namespace) -> int:
    if not args.yes:
        print(
            f"solbot: reset clears {WHAT} and binds the database to the current broker; add --yes to do it",
            file=sys.stderr,
        )
        return 2
    with Stack(settings) as stack:

        async def run() -> str:
            await migrate(stack.database_url)
            bootstrap, auth = bootstrap_of(stack.broker_url), broker_auth(settings)
            current, cleared = await reset_broker_state(bootstrap, stack.database_url, auth)
            return (
                f"solbot: reset: cleared {len(cleared.sink_offsets)} sink offset(s), {cleared.checkpoints} "
                f"model checkpoint(s), {cleared.unpublished_fills} unsent fill(s); bound to broker {current}"
            )

        print(asyncio.run(run()))
    return 0
