"""`solbot web [--host H] [--port N]`: the web API against the stack's Postgres, Redis and broker; HTTPS
(TLS 1.3 only) when WEB_TLS is set."""

from __future__ import annotations

import argparse
import asyncio
import gc
from typing import Any

from core.settings import Settings
from solbot.options import setting_option


def add_parser(subparsers: Any) -> None:
    web = subparsers.add_parser("web", help="the web API (wallet sign-in, read endpoints, live WebSocket)")
    setting_option(web, "--host", setting="web_host", type=str, help="address to bind")
    setting_option(web, "--port", setting="web_port", type=int, help="port")


def server_config(app: Any, settings: Settings, host: str, port: int) -> Any:
    """uvicorn's config: no proxy-header rewriting (the app reads X-Forwarded-For from WEB_TRUSTED_PROXIES
    only), no access log (it would hold query strings), TLS 1.3 only when WEB_TLS is set."""
    import uvicorn

    from web.tls import resolve_tls_files, server_context

    files = resolve_tls_files(settings) if settings.web_tls else None
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        ssl_certfile=str(files.cert) if files else None,
        ssl_keyfile=str(files.key) if files else None,
    )
    config.load()
    if files is not None:
        config.ssl = server_context(files)  # uvicorn's own context would also accept TLS 1.2
    return config


def main(settings: Settings, args: argparse.Namespace) -> int:
    """Resolve the stack (reuse running services or start embedded ones), migrate, serve until Ctrl-C."""
    import uvicorn

    from services.stack import Stack
    from store.migrate import migrate
    from web.api.app import create_app

    port, host = settings.web_port, settings.web_host
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
        config = server_config(app, resolved, host, port)
        # What start-up built lives as long as the server: kept out of every collection, the one at exit
        # too (0.6 s of a quiet box's exit, seconds of a busy one's, after Ctrl-C).
        gc.freeze()
        scheme = "https" if settings.web_tls else "http"
        shown = f"[{host}]" if ":" in host else host
        print(f"solbot: web API on {scheme}://{shown}:{port}/", flush=True)
        uvicorn.Server(config).run()
    return 0
