"""`solbot web [--port N]`: the web API on 127.0.0.1, against the stack's Postgres, Redis and broker."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from core.settings import Settings
from solbot.options import setting_option


def add_parser(subparsers: Any) -> None:
    web = subparsers.add_parser("web", help="the web API (wallet sign-in, read endpoints, live WebSocket)")
    setting_option(web, "--port", setting="web_port", type=int, help="port on 127.0.0.1")


def main(settings: Settings, args: argparse.Namespace) -> int:
    """Resolve the stack (reuse running services or start embedded ones), migrate, serve until Ctrl-C."""
    import uvicorn

    from services.stack import Stack
    from store.migrate import migrate
    from web.api.app import create_app

    port = settings.web_port
    with Stack(settings) as stack:
        if stack.reused:
            print(f"solbot: {stack.describe_reused()}", flush=True)
        resolved = settings.model_copy(
            update={
                "database_url": stack.database_url,
                "redis_url": stack.redis_url,
                "broker_url": stack.broker_url,
            }
        )
        asyncio.run(migrate(stack.database_url))  # the read endpoints need the schema
        app = create_app(resolved)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level=settings.log_level, access_log=False
        )
        print(f"solbot: web API on http://127.0.0.1:{port}/docs")
        uvicorn.Server(config).run()
    return 0
