"""One error base for the whole service, mapped to JSON by one handler.

Every API error has the shape `{"error": {"code", "message", "field"}}` (`ErrorOut`, which
OpenAPI documents for every error status); domain packages subclass `StudioError` in their
own `exceptions.py`. Anything unexpected becomes a 500 that names no server detail (the
traceback goes to the log under a reference the client is shown).
"""

from __future__ import annotations

import errno
import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)
_FULL = (errno.ENOSPC, errno.EDQUOT)


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


class Busy(StudioError):
    """Every database connection stayed taken for `db_wait_s`: come back shortly."""

    status, code = 503, "busy"


class TooManyAttempts(StudioError):
    """Refused by a rate limit; `retry_after` whole seconds until the next try counts."""

    status, code = 429, "too_many_attempts"

    def __init__(self, message: str, retry_after: int, field: str | None = None):
        super().__init__(message, field)
        self.retry_after = max(1, retry_after)


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable, e.g. `not_found`, `invalid`.")
    message: str = Field(description="For people: what is wrong and, where it helps, why.")
    field: str | None = Field(
        description="The offending input (dotted for nested body keys), or null."
    )
    details: dict[str, Any] | None = Field(None, description="Extra context, e.g. bad lines.")


class ErrorOut(BaseModel):
    """The body of every API error response."""

    error: ErrorDetail


_MEANING = {
    400: "Malformed request (bad JSON, NUL bytes, too deeply nested).",
    401: "Missing, invalid or revoked bearer token.",
    403: "Authenticated, but not allowed to do this.",
    404: "No such resource.",
    409: "The resource is in a state that does not allow this.",
    413: "The request body is too large.",
    422: "A field is invalid; `error.field` names it.",
    429: "Too many attempts; see the Retry-After header.",
    500: "Unexpected server error; the message carries a log reference.",
    503: "The studio is too busy to answer now; try again shortly.",
    507: "The studio's storage is full.",
}
# Documented on every API route: any route may refuse a request this way.
COMMON = (400, 401, 403, 404, 409, 422, 429, 500, 503)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, all with the `ErrorOut` body."""
    return {s: {"model": ErrorOut, "description": _MEANING[s]} for s in statuses}


def _body(code: str, message: str, field: str | None, details: dict | None = None) -> dict:
    error = {"code": code, "message": message, "field": field}
    return {"error": error | ({"details": details} if details else {})}


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers: dict | None = None
) -> JSONResponse:
    return JSONResponse(_body(code, message, field), status, headers=headers)


def _studio(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StudioError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after)}
    elif isinstance(exc, Busy):
        headers = {"Retry-After": "1"}
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
    code = {
        400: "bad_request",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
    }.get(exc.status_code, "http_error")
    return JSONResponse(_body(code, str(exc.detail), None), exc.status_code, headers=exc.headers)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A full disk is the operator's to fix (507); anything else is ours (500). Neither
    answer carries paths, values or exception text: those go to the log only."""
    if isinstance(exc, OSError) and exc.errno in _FULL:
        log.error("storage full during %s %s: %s", request.method, request.url.path, exc)
        return error_response(507, "storage_full", "the studio's storage is full; try later")
    reference = uuid.uuid4().hex[:12]
    log.error(
        "unexpected error %s during %s %s",
        reference,
        request.method,
        request.url.path,
        exc_info=exc,
    )
    return error_response(500, "internal", f"unexpected server error (log reference {reference})")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StudioError, _studio)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
