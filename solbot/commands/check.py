"""`solbot check balances`: reconcile the database's balances with the wallet's token accounts on chain.

The local chain lives inside the worker process that settles fills (LiteSVM is in-process), so the
comparison runs there: the worker's `GET /balances/check/` reads both sides under the execution agent's
batch lock and returns them with their differences. This command asks each worker port it is given (the
one that owns the orders partition answers), prints the result, and exits 0 when the two agree, 1 on
any difference, 2 when no worker could answer.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

import httpx

from core.settings import Settings

if TYPE_CHECKING:
    from chain.local import LocalChain


def add_parser(subparsers: Any) -> None:
    """Add `check` to the `solbot` sub-commands."""
    parser = subparsers.add_parser("check", help="consistency checks between the database and the chain")
    parser.add_argument("action", choices=["balances"], help="what to compare")
    parser.add_argument(
        "--port",
        type=int,
        action="append",
        help="worker web port to ask (repeat for several workers; default: setting worker_web_port, 6066)",
    )
    parser.add_argument("--host", help="worker web host (default: the worker_web_bind setting, 127.0.0.1)")
    parser.add_argument("--json", action="store_true", help="print the worker's answer as JSON")


def chain_balances(chain: LocalChain) -> dict[str, int]:
    """The wallet's balances as the chain's token accounts hold them, by the bot's mint address."""
    return chain.balances()


def fetch_check(host: str, port: int, timeout_s: float = 10.0) -> dict[str, Any]:
    """One worker's answer; `available` is false (with a reason) when it does not hold the chain."""
    url = f"http://{host}:{port}/balances/check/"
    try:
        response = httpx.get(url, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return {"available": False, "reason": f"{url}: {type(exc).__name__}"}
    if response.status_code not in (200, 409):
        return {"available": False, "reason": f"{url}: HTTP {response.status_code}"}
    payload: dict[str, Any] = response.json()
    return payload


def main(settings: Settings, args: argparse.Namespace) -> int:
    host = args.host or ("127.0.0.1" if settings.worker_web_bind == "0.0.0.0" else settings.worker_web_bind)
    reasons = []
    for port in args.port or [settings.worker_web_port]:
        answer = fetch_check(host, port)
        if not answer.get("available"):
            reasons.append(f"port {port}: {answer.get('reason')}")
            continue
        if args.json:
            print(json.dumps(answer, sort_keys=True))
        else:
            print(f"portfolio {answer['portfolio']}: {len(answer['db'])} mints in the database, "
                  f"{len(answer['chain'])} on chain, {answer['transactions']} transactions")  # fmt: skip
            for line in answer["differences"]:
                print(line)
            print("balances match" if answer["ok"] else f"{len(answer['differences'])} differences")
        return 0 if answer["ok"] else 1
    print("solbot: no worker answered with its local chain: " + "; ".join(reasons), file=sys.stderr)
    return 2
