"""An ASGI guard in front of every route: refuses input the handlers and the database
cannot take, as a clear 4xx before any handler runs.

- NUL bytes in the path or query (Postgres text cannot hold them; paths cannot either).
- JSON bodies over `max_json_bytes` (413), nested deeper than `max_json_depth`, or holding a
  NUL character in any key or string (400). Well-formed bodies are replayed unchanged.

The limits are read from `app.state.settings`, which the app's lifespan sets.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_response


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            return kind == b"application/json" or kind.endswith(b"+json")
    return False


def json_problem(data: Any, max_depth: int) -> str | None:
    """Why this parsed JSON is refused (too deep, NUL character), or None; iterative, so
    the check itself cannot overflow the stack."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return "a string in the JSON body holds a NUL character"
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > max_depth:
            return f"the JSON body is nested deeper than {max_depth} levels"
        items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
        for key, item in items:
            if key is not None and "\x00" in key:
                return "a key in the JSON body holds a NUL character"
            stack.append((item, depth + 1))
    return None


class IngressGuard:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"\x00" in unquote_to_bytes(scope["query_string"]):
            answer = error_response(400, "bad_request", "NUL byte in the request address")
            await answer(scope, receive, send)
            return
        if not _is_json(scope):
            await self.app(scope, receive, send)
            return
        settings = scope["app"].state.settings
        body, problem = await _read(receive, settings.max_json_bytes, settings.max_json_depth)
        if problem is not None:
            status = 413 if problem.startswith("the JSON body is over") else 400
            code = "too_large" if status == 413 else "bad_request"
            await error_response(status, code, problem)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


async def _read(receive: Receive, max_bytes: int, max_depth: int) -> tuple[bytes, str | None]:
    """The whole body and why it is refused (or None)."""
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"", "the client went away"
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            return b"", f"the JSON body is over {max_bytes} bytes"
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    try:
        data = json.loads(body) if body else None
    except RecursionError:
        return body, f"the JSON body is nested deeper than {max_depth} levels"
    except ValueError:
        return body, None  # malformed JSON: FastAPI's own 422 names the position
    return body, json_problem(data, max_depth)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
