"""The API's docs: Swagger UI from the locally installed `swagger-ui-dist` (npm, `make web-assets`; no
CDN, so the page works offline and the CSP names no other origin), and `/openapi.json`, open in
development and behind sign-in elsewhere (WEB_DOCS_PUBLIC overrides). The page itself is a static shell:
its script fetches the document with the dashboard's token from this tab's session storage.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from core.settings import Settings
from web.api.deps import bearer_token
from web.api.errors import unauthorized
from web.api.security import AuthFailed

log = logging.getLogger(__name__)

DASHBOARD_DIR = Path(__file__).resolve().parent.parent / "dashboard"
SWAGGER_DIR = DASHBOARD_DIR / "node_modules" / "swagger-ui-dist"


def mount_docs(app: FastAPI, settings: Settings) -> None:
    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        if not settings.docs_public:
            token = bearer_token(request)
            if token is None:
                raise unauthorized("sign in to read the API document")
            try:
                await request.app.state.api.auth.authenticate(token)
            except AuthFailed:
                raise unauthorized("invalid or expired access token") from None
        document: dict[str, Any] = app.openapi()
        return JSONResponse(document)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> FileResponse:
        return FileResponse(DASHBOARD_DIR / "docs.html", media_type="text/html")

    if SWAGGER_DIR.is_dir():
        app.mount("/docs-assets", StaticFiles(directory=SWAGGER_DIR), name="docs-assets")
    else:
        log.warning("Swagger UI missing (%s): run `make web-assets`", SWAGGER_DIR)
