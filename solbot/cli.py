"""The `solbot` command: run, worker, simulate, services, db; the other commands live in solbot/commands/."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.metadata
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.config import CONFIG_ENV, CONFIG_FILE_NAME, Loaded, load_config
from core.errors import ConfigError, ServiceError, SolbotError
from core.settings import Settings
from solbot.options import Parser, describe_commands, flags_of, setting_option

if TYPE_CHECKING:
    from streams.broker_auth import BrokerAuth


def _parser() -> argparse.ArgumentParser:
    p = Parser(prog="solbot", description="Autonomous Solana DEX trading bot (Faust).")
    p.add_argument("--version", action="version", version=f"solbot {_version()}")
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"TOML settings file (default: ${CONFIG_ENV}, else <data dir>/{CONFIG_FILE_NAME} if present)",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="set one setting, over the file and the environment (repeatable)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the whole bot in paper mode on a simulated market")
    run.add_argument("--duration", type=float, default=None, help="stop after N seconds (default: never)")
    setting_option(run, "--seed", setting="sim_seed", type=int, help="market seed")
    setting_option(run, "--rate", setting="sim_rate_eps", type=float, help="raw events per second")
    run.add_argument("--workers", type=int, default=1, help="Faust worker processes")
    run.add_argument(
        "--live", action="store_true",
        help="trade with the keystore's key on SOLANA_RPC_URL / JUPITER_URL (needs LIVE_TRADING=true)",
    )  # fmt: skip
    run.add_argument(
        "--yes", action="store_true", help="with --live: confirm without a terminal (unattended)"
    )
    run.add_argument(
        "--dry-run", action="store_true", help="with --live: build, sign and simulate every order; never send"
    )
    run.add_argument(
        "--passphrase-fd", type=int, default=None, metavar="N",
        help="with --live: read the wallet passphrase from file descriptor N (first line)",
    )  # fmt: skip

    sub.add_parser("worker", help="one Faust worker of the app (several may run side by side)")

    sim = sub.add_parser("simulate", help="the market simulator alone, producing to the raw topics")
    setting_option(sim, "--seed", setting="sim_seed", type=int, help="market seed")
    setting_option(sim, "--rate", setting="sim_rate_eps", type=float, help="raw events per second")
    sim.add_argument("--duration", type=float, default=None, help="stop after N seconds (default: never)")

    svc = sub.add_parser("services", help="embedded broker, Postgres and Redis on their own")
    svc.add_argument("action", choices=["up", "down", "status"], help="start (detached), stop, or list them")

    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["migrate"], help="apply the schema migrations (idempotent)")
    for module in _command_modules():
        before = set(sub.choices)
        module.add_parser(sub)
        for name in set(sub.choices) - before:  # the commands this module added dispatch to its main
            sub.choices[name].set_defaults(_main=module.main)
    describe_commands(p)
    return p


def _version() -> str:
    try:
        return importlib.metadata.version("solbot")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


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
    "config",
    "sandbox",
    "roles",
)


def _command_modules() -> list[Any]:
    return [importlib.import_module(f"solbot.commands.{name}") for name in COMMAND_MODULES]


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        loaded = load_config(config=args.config, flags=flags_of(args))
        export_to_children(loaded, args)
        settings = loaded.settings
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
    except SolbotError as exc:  # InputError, WalletError, ...: the message is the whole story
        print(f"solbot: {exc}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:  # a bug or an unforeseen failure: still one line; the traceback at debug level
        logging.getLogger(__name__).debug("unexpected error", exc_info=True)
        print(f"solbot: unexpected {type(exc).__name__}: {exc} (LOG_LEVEL=debug: where)", file=sys.stderr)
        code = 1
    sys.exit(code)


def export_to_children(loaded: Loaded, args: argparse.Namespace) -> None:
    """Worker processes re-read their settings: hand them the same file and the `--set` values."""
    if loaded.config_path is not None:
        os.environ[CONFIG_ENV] = str(loaded.config_path.resolve())
    for pair in args.set or []:
        name, _, value = pair.partition("=")
        os.environ[name.strip().upper()] = value


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from solbot.live import live_market, plan_live
    from solbot.runner import install_stop_handlers, run

    if args.workers < 1:
        raise ConfigError("bad option --workers: must be >= 1")
    if not args.live and (args.yes or args.dry_run or args.passphrase_fd is not None):
        raise ConfigError("bad option: --yes, --dry-run and --passphrase-fd go with --live")
    live = None
    if args.live:
        dry_run = args.dry_run or settings.live_dry_run
        live = plan_live(settings, yes=args.yes, dry_run=dry_run, passphrase_fd=args.passphrase_fd)
        settings = live_market(settings)
    logging.getLogger().setLevel(logging.WARNING)  # the progress lines are the interface

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        stop = asyncio.Event()
        install_stop_handlers(task, stop)
        await run(
            settings,
            duration_s=args.duration,
            seed=settings.sim_seed,
            rate_eps=settings.sim_rate_eps,
            workers=args.workers,
            stop=stop,
            live=live,
        )

    try:
        asyncio.run(main())
    except asyncio.CancelledError:
        print("solbot: stopped", file=sys.stderr)
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Start one Faust worker; the processing guarantee and the broker's kind are settled first."""
    from agents.pipeline import build_worker
    from services.reachable import require_reachable
    from services.web_ports import claim_web_port
    from solbot.runner import auto_guarantee
    from streams.broker import bootstrap_of, probe_transactions
    from streams.broker_auth import broker_auth
    from streams.compat import BrokerKind

    if settings.broker_url is None:
        raise ConfigError("bad setting BROKER_URL: a worker needs a broker (try `solbot services up`)")
    for setting in ("broker_url", "database_url", "redis_url"):  # the true cause, before any client guesses
        url = getattr(settings, setting)
        if url:
            require_reachable(setting.upper(), url)
    bootstrap = bootstrap_of(settings.broker_url)
    auth = broker_auth(settings)
    if settings.processing_guarantee == "auto" or settings.broker_kind == "auto":
        try:
            transactions = asyncio.run(probe_transactions(bootstrap, auth=auth))
        except ServiceError as exc:  # never guess: the other workers may have chosen otherwise
            print(
                f"solbot: worker refuses to start: {exc}; set PROCESSING_GUARANTEE and BROKER_KIND as the "
                "other workers have them",
                file=sys.stderr,
            )
            return 2
        if settings.processing_guarantee == "auto":
            guarantee = auto_guarantee(transactions)
            settings = settings.model_copy(update={"processing_guarantee": guarantee})
        if settings.broker_kind == "auto":
            settings = settings.model_copy(update={"broker_kind": "kafka" if transactions else "tansu"})
    asyncio.run(_refuse_mixed_guarantees(bootstrap, settings))
    if settings.database_url is not None:  # started alone or by the runner: the same check as `solbot run`
        asyncio.run(_check_identity(bootstrap, settings.database_url, auth))
    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    claim = claim_web_port(settings.worker_web_port, settings.worker_web_bind)  # held while we run
    settings = settings.model_copy(update={"worker_web_port": claim.port})
    host = "127.0.0.1" if settings.worker_web_bind in ("0.0.0.0", "::") else settings.worker_web_bind
    print(f"solbot: worker web view on http://{host}:{claim.port}/status/", file=sys.stderr, flush=True)
    logging.getLogger(__name__).info("worker web view on http://%s:%s/status/", host, claim.port)

    keypair = _live_keypair(settings)
    import faulthandler

    import uvloop

    faulthandler.enable(all_threads=True)  # a native crash leaves its Python stacks in the worker's log

    uvloop.install()
    broker_kind: BrokerKind = "kafka" if settings.broker_kind == "kafka" else "tansu"
    build_worker(settings, broker_kind=broker_kind, keypair=keypair).run()
    return 0


async def _refuse_mixed_guarantees(bootstrap: str, settings: Settings) -> None:
    """ConfigError when the group's running workers use another processing guarantee than this one."""
    from aiokafka.errors import KafkaError

    from streams.broker_auth import broker_auth
    from streams.membership import refuse_mixed, running_guarantees

    try:
        running = await running_guarantees(bootstrap, settings.app_id, broker_auth(settings))
    except KafkaError as exc:
        raise ServiceError(
            f"worker refuses to start: cannot read the members of group {settings.app_id!r} ({exc!r})"
        ) from exc
    refuse_mixed(settings.app_id, settings.processing_guarantee, running)


def _live_keypair(settings: Settings) -> Any:
    """The keystore's key when `solbot run --live` handed this worker the passphrase (a pipe), else None."""
    from agents.live_execution import unlock_wallet
    from solbot.live import PASSPHRASE_FD_ENV

    fd = os.environ.pop(PASSPHRASE_FD_ENV, None)
    if fd is None:
        return None
    if not settings.live_trading:
        raise ConfigError("a live worker needs the setting LIVE_TRADING=true")
    try:
        return unlock_wallet(settings, int(fd))
    finally:
        with contextlib.suppress(OSError, ValueError):
            os.close(int(fd))


async def _check_identity(bootstrap: str, database_url: str, auth: BrokerAuth) -> None:
    """Refuse (`BrokerMismatch`, one line naming `solbot reset`) a database bound to another broker, so a
    worker started by hand never resumes from offsets into topics that are gone."""
    from solbot.identity import check_broker_identity
    from store.migrate import migrate

    await migrate(database_url)
    await check_broker_identity(bootstrap, database_url, auth)


def cmd_simulate(settings: Settings, args: argparse.Namespace) -> int:
    import time

    from market.feed import run_feed
    from market.simulator import MarketSimulator
    from services.stack import Stack
    from streams.broker import bootstrap_of, create_topics
    from streams.broker_auth import broker_auth

    with Stack(settings) as stack:
        bootstrap = bootstrap_of(stack.broker_url)
        seed = settings.sim_seed
        sim = MarketSimulator(
            seed=seed,
            pairs=settings.pairs,
            rate_eps=settings.sim_rate_eps,
            random_walk=settings.sim_random_walk,
            start_ms=int(time.time() * 1000),
        )

        async def main() -> int:
            auth = broker_auth(settings)
            await create_topics(bootstrap, settings.topic_partitions, auth)
            return await run_feed(
                bootstrap,
                sim,
                duration_s=args.duration,
                realtime=True,
                auth=auth,
                market_data_ms=settings.sim_market_data_ms,
            )

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
    from services.reachable import require_reachable
    from services.stack import Stack
    from store.migrate import migrate

    with Stack(settings) as stack:
        require_reachable("DATABASE_URL", stack.database_url)
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
