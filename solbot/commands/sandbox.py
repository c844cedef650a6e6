"""`solbot sandbox`: start the mainnet-shaped local world and print its URLs for scripts.

With `--traders N`, N simulated traders replay the simulated market's swaps on the sandbox's pools and
its Pump.fun launches and curve trades on the sandbox's Pump.fun double (a moving market in the chain's
logs). Prints exactly `SOLANA_RPC_URL=…`, `SOLANA_WS_URL=…`,
`JUPITER_URL=…` and `JITO_URL=…` once every server listens (so `eval "$(… | head -4)"`-style scripts
can wait on them), then serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from core.errors import ConfigError

KEYS = ("SOLANA_RPC_URL", "SOLANA_WS_URL", "JUPITER_URL", "JITO_URL")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sandbox", help="a mainnet-shaped local Solana world (RPC, PubSub, Jupiter, Jito)"
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", default="8899", help="HTTP port: RPC, Jupiter and Jito (default 8899; 0: free)")
    p.add_argument("--ws-port", default="8900", help="PubSub port (default 8900; 0: free)")
    p.add_argument("--seed", default="1", help="the trader's key and the faults' RNG (default 1)")
    p.add_argument(
        "--trader-keypair", type=Path, default=None, metavar="PATH",
        help="write the funded trader's keypair there (Solana CLI JSON, 0600) for `solbot wallet import`",
    )  # fmt: skip
    p.add_argument(
        "--traders",
        default="0",
        help="simulated traders replaying the simulated market's swaps and Pump.fun launches (default 0)",
    )
    p.add_argument(
        "--rate",
        default="20",
        help="the simulated market's events per second when --traders is set (default 20; 0.1..500)",
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND=VALUE",
        help="a fault: timeout, rate_limit, blockhash_not_found, drop or rollback=P (a probability per "
        "request); lag_slots or slow_confirmation_slots=N (slots); lag_share=P (the share of reads the "
        "lagging node answers, default 1: below 1 a balancer mixes it with a current node)",
    )


def _int(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"bad option {name}: {text!r} is not an integer") from None
    if not low <= value <= high:
        raise ConfigError(f"bad option {name}: {value} is outside {low}..{high}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"bad option --rate: {text!r} is not a number") from None
    if not 0.1 <= value <= 500.0:
        raise ConfigError(f"bad option --rate: {value} is outside 0.1..500")
    return value


def parse_faults(specs: list[str], seed: int) -> Any:
    """`KIND=P` (a probability per request) and `KIND=N` (slots) options into `Faults`; one ConfigError
    line for a bad one."""
    from sandbox.faults import FAULT_KINDS, SHARE_FAULTS, SLOT_FAULTS, Faults

    faults = Faults(seed=seed)
    total = 0.0
    for spec in specs:
        kind, sep, text = spec.partition("=")
        if not sep or kind not in FAULT_KINDS + SLOT_FAULTS + SHARE_FAULTS:
            kinds = ", ".join(FAULT_KINDS + SLOT_FAULTS + SHARE_FAULTS)
            raise ConfigError(f"bad option --fault: {spec!r}; expected KIND=VALUE with KIND in {kinds}")
        if kind in SLOT_FAULTS:
            setattr(faults, kind, _int(f"--fault {kind}", text, 0, 10_000))
            continue
        try:
            p = float(text)
        except ValueError:
            raise ConfigError(f"bad option --fault: {text!r} is not a probability") from None
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"bad option --fault: {kind} probability {p} is outside 0..1")
        setattr(faults, kind, p)
        if kind not in SHARE_FAULTS:  # a share is not drawn against the per-request faults
            total += p
    if total > 1.0:
        raise ConfigError("bad option --fault: the probabilities add up to more than 1")
    return faults


def main(settings: Any, args: argparse.Namespace) -> int:
    from sandbox.world import World, WorldConfig

    logging.getLogger("websockets").setLevel(logging.WARNING)  # its per-connection lines are noise here

    seed = _int("--seed", args.seed, 0, 2**32 - 1)
    config = WorldConfig(
        host=args.host,
        port=_int("--port", args.port, 0, 65535),
        ws_port=_int("--ws-port", args.ws_port, 0, 65535),
        seed=seed,
        faults=parse_faults(args.fault, seed),
        traders=_int("--traders", args.traders, 0, 64),
        rate_eps=_rate(args.rate),
    )
    world = World(config)
    if args.trader_keypair is not None:
        write_keypair(args.trader_keypair, list(bytes(world.wallet)))
    try:
        asyncio.run(_serve(world))
    except OSError as exc:  # the port is taken, or the host is not ours
        print(f"solbot sandbox: cannot listen on {args.host}: {exc.strerror or exc}", file=sys.stderr)
        return 3
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    print("solbot sandbox: stopped", file=sys.stderr)
    return 0


def write_keypair(path: Path, secret: list[int]) -> None:
    """The trader's keypair as the Solana CLI writes one (a JSON array of its 64 bytes), readable by the
    owner only; an existing file is never overwritten (it may be someone's wallet)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"bad option --trader-keypair: {path} exists; refusing to overwrite it") from None
    except OSError as exc:
        raise ConfigError(f"bad option --trader-keypair: cannot write {path} ({exc.strerror})") from None
    with os.fdopen(fd, "w") as out:
        json.dump(secret, out)


async def _serve(world: Any) -> None:
    from solbot.runner import install_signal_handlers

    task = asyncio.current_task()
    assert task is not None
    install_signal_handlers(task)
    urls = await world.start()
    try:
        for key in KEYS:
            print(f"{key}={urls[key]}", flush=True)
        await asyncio.Event().wait()
    finally:
        await world.stop()
