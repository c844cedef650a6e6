"""The `solbot` command: run, worker, simulate, services, db."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import Any

from core.errors import ConfigError, ServiceError
from core.settings import Settings, get_settings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="solbot", description="Autonomous Solana DEX trading bot (Faust).")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the whole bot in paper mode on a simulated market")
    run.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    run.add_argument("--seed", type=int, default=None, help="market seed (default SIM_SEED)")
    run.add_argument("--rate", type=float, default=None, help="raw events per second (default SIM_RATE_EPS)")
    run.add_argument("--workers", type=int, default=1, help="Faust worker processes")

    sub.add_parser("worker", help="one Faust worker of the app (several may run side by side)")

    sim = sub.add_parser("simulate", help="the market simulator alone, producing to the raw topics")
    sim.add_argument("--seed", type=int, default=None)
    sim.add_argument("--rate", type=float, default=None, help="events per second")
    sim.add_argument("--duration", type=float, default=None)

    svc = sub.add_parser("services", help="embedded broker, Postgres and Redis on their own")
    svc.add_argument("action", choices=["up", "down", "status"])

    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["migrate"])
    for module in _command_modules():
        before = set(sub.choices)
        module.add_parser(sub)
        for name in set(sub.choices) - before:  # the commands this module added dispatch to its main
            sub.choices[name].set_defaults(_main=module.main)
    return p


# Command groups that live in their own modules under solbot/commands/.
COMMAND_MODULES: tuple[str, ...] = (
    "decode",
    "collect",
    "record",
    "replay",
    "backtest",
    "topics",
    "db_retention",
    "wallet",
    "check",
    "web",
    "control",
    "portfolio",
    "rebalance",
    "reset",
    "sandbox",
)


def _command_modules() -> list[Any]:
    return [importlib.import_module(f"solbot.commands.{name}") for name in COMMAND_MODULES]


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        settings = get_settings()
        logging.getLogger("aiokafka").setLevel(logging.WARNING)  # its INFO lines are noise on a terminal
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        handler = getattr(args, "_main", None) or COMMANDS[args.command]
        code = handler(settings, args)
    except ConfigError as exc:
        print(f"solbot: {exc}", file=sys.stderr)
        code = 2
    except ServiceError as exc:
        print(f"solbot: {exc}", file=sys.stderr)
        code = 3
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from solbot.runner import install_signal_handlers, run

    if args.workers < 1:
        raise ConfigError("bad option --workers: must be >= 1")
    logging.getLogger().setLevel(logging.WARNING)  # the progress lines are the interface

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        install_signal_handlers(task)
        await run(
            settings,
            duration_s=args.duration,
            seed=settings.sim_seed if args.seed is None else args.seed,
            rate_eps=args.rate or settings.sim_rate_eps,
            workers=args.workers,
        )

    try:
        asyncio.run(main())
    except asyncio.CancelledError:
        print("solbot: stopped", file=sys.stderr)
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Start one Faust worker; the processing guarantee and the broker's kind are settled first."""
    from agents.pipeline import build_worker
    from services.web_ports import claim_web_port
    from solbot.runner import auto_guarantee
    from streams.broker import bootstrap_of, supports_transactions
    from streams.compat import BrokerKind

    if settings.broker_url is None:
        raise ConfigError("bad setting BROKER_URL: a worker needs a broker (try `solbot services up`)")
    if settings.processing_guarantee == "auto" or settings.broker_kind == "auto":
        transactions = asyncio.run(supports_transactions(bootstrap_of(settings.broker_url)))
        if settings.processing_guarantee == "auto":
            guarantee = auto_guarantee(transactions)
            settings = settings.model_copy(update={"processing_guarantee": guarantee})
        if settings.broker_kind == "auto":
            settings = settings.model_copy(update={"broker_kind": "kafka" if transactions else "tansu"})
    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    claim = claim_web_port(settings.worker_web_port, settings.worker_web_bind)  # held while we run
    settings = settings.model_copy(update={"worker_web_port": claim.port})
    host = "127.0.0.1" if settings.worker_web_bind in ("0.0.0.0", "::") else settings.worker_web_bind
    print(f"solbot: worker web view on http://{host}:{claim.port}/status/", file=sys.stderr, flush=True)
    logging.getLogger(__name__).info("worker web view on http://%s:%s/status/", host, claim.port)

    import uvloop

    uvloop.install()
    broker_kind: BrokerKind = "kafka" if settings.broker_kind == "kafka" else "tansu"
    build_worker(settings, broker_kind=broker_kind).run()
    return 0


def cmd_simulate(settings: Settings, args: argparse.Namespace) -> int:
    import time

    from market.feed import run_feed
    from market.simulator import MarketSimulator
    from services.stack import Stack
    from streams.broker import bootstrap_of, create_topics

    with Stack(settings) as stack:
        bootstrap = bootstrap_of(stack.broker_url)
        seed = settings.sim_seed if args.seed is None else args.seed
        sim = MarketSimulator(
            seed=seed,
            pairs=settings.pairs,
            rate_eps=args.rate or settings.sim_rate_eps,
            random_walk=settings.sim_random_walk,
            start_ms=int(time.time() * 1000),
        )

        async def main() -> int:
            await create_topics(bootstrap, settings.topic_partitions)
            return await run_feed(bootstrap, sim, duration_s=args.duration, realtime=True)

        try:
            sent = asyncio.run(main())
        except KeyboardInterrupt:
            return 130
        print(f"solbot: simulated {sent} events into raw topics at {stack.broker_url}")
    return 0


def cmd_services(settings: Settings, args: argparse.Namespace) -> int:
    from services.stack import ENV_NAMES, Stack, services_down, services_status

    if args.action == "up":
        stack = Stack(settings).start(detached=True)
        if stack.broker is not None:
            print(f"solbot: {stack.broker.summary}", file=sys.stderr)
        if stack.reused:
            print(f"solbot: {stack.describe_reused()}", file=sys.stderr)
        for name, url in stack.env().items():
            print(f"{name}={url}")
    elif args.action == "down":
        stopped = services_down(settings)
        print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
    else:
        for name, (url, running) in services_status(settings).items():
            print(f"{ENV_NAMES[name]}={url}" + ("" if running else "  # not running"))
    return 0


def cmd_db(settings: Settings, args: argparse.Namespace) -> int:
    from services.stack import Stack
    from store.migrate import migrate

    with Stack(settings) as stack:
        applied = asyncio.run(migrate(stack.database_url))
    print(f"applied: {', '.join(applied) if applied else 'nothing (schema up to date)'}")
    return 0


COMMANDS: dict[str, Any] = {
    "run": cmd_run,
    "worker": cmd_worker,
    "simulate": cmd_simulate,
    "services": cmd_services,
    "db": cmd_db,
}

if __name__ == "__main__":
    main()
