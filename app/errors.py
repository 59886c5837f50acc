"""One error base for the whole service, mapped to JSON by one handler.

Every API error has the shape `{"error": {"code", "message", "field"}}`; domain packages
subclass `StudioError` in their own `exceptions.py`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException


class StudioError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message, self.field, self.details = message, field, details


class NotFound(StudioError):
    status, code = 404, "not_found"


class Unauthorized(StudioError):
    status, code = 401, "unauthorized"


class Forbidden(StudioError):
    status, code = 403, "forbidden"


class Conflict(StudioError):
    status, code = 409, "conflict"


class Invalid(StudioError):
    """A request that is well formed but cannot be accepted (the offending field named)."""

    status, code = 422, "invalid"


class TooLarge(StudioError):
    status, code = 413, "too_large"


def _body(code: str, message: str, field: str | None, details: dict | None = None) -> dict:
    error = {"code": code, "message": message, "field": field}
    return {"error": error | ({"details": details} if details else {})}


def _studio(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StudioError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return JSONResponse(
        _body(exc.code, exc.message, exc.field, exc.details), exc.status, headers=headers
    )


def _validation(_: Request, exc: Exception) -> JSONResponse:
    """FastAPI's request validation, reported like ours: the first error and its field."""
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0]
    loc = [str(p) for p in first["loc"] if p not in ("body", "query", "path", "header")]
    return JSONResponse(_body("invalid", first["msg"], ".".join(loc) or None), 422)


def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
        exc.status_code, "http_error"
    )
    return JSONResponse(_body(code, str(exc.detail), None), exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StudioError, _studio)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
