"""One error shape everywhere: `{"error": {"code", "message", "fields"?}}`, raised at the edge.

Unhandled exceptions are caught by a plain ASGI middleware (not an exception handler, which Starlette
re-raises after responding) so the client gets a 500 JSON object and the traceback stays in the log.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    413: "payload_too_large",
    405: "method_not_allowed",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


MAX_FIELD_ERRORS = 20


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[FieldError] | None = None


class ErrorResponse(BaseModel):
    """What every non-2xx response carries."""

    error: ErrorBody


class ApiError(StarletteHTTPException):
    """An HTTP error with a stable machine-readable code."""

    def __init__(
        self, status_code: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.code = code


def unauthorized(message: str = "sign in first") -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def error_json(
    status: int, code: str, message: str, fields: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    return {"error": body}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = getattr(exc, "code", None) or _CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    return JSONResponse(
        error_json(exc.status_code, code, message), status_code=exc.status_code, headers=exc.headers
    )


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    fields = [
        {"field": _field_name(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))[:200]}
        for e in errors[:MAX_FIELD_ERRORS]
    ]
    message = "the request is not valid"
    if len(errors) > MAX_FIELD_ERRORS:  # a body with 20,000 bad keys gets a short answer, not 2 MB
        message += f" ({len(errors)} errors, the first {MAX_FIELD_ERRORS} listed)"
    return JSONResponse(error_json(400, "invalid_request", message, fields), status_code=400)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(CatchAllMiddleware)


class CatchAllMiddleware:
    """Turns any exception that escapes a route into a 500 JSON object; logs the traceback server-side."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise  # too late for a clean response; the server closes the connection
            body = json.dumps(error_json(500, "internal_error", "internal server error")).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
