"""The studio's HTML pages: Jinja2 templates over the same services as the JSON API.

`install(app)` mounts the pages, the static files (plotly.js included: no page loads
anything from another address) and the handlers that turn errors into pages.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from app.errors import StudioError
from app.pages import (
    account,
    datasets,
    formats,
    models,
    new_run,
    run_detail,
    runs,
    studies,
    teachers,
)
from app.pages.auth import LoginRequired
from app.pages.render import PLOTLY_JS, PLOTLY_URL, render
from app.playground import pages as playground
from app.webhooks import pages as webhooks

STATIC = Path(__file__).resolve().parents[1] / "static"
YEAR = 365 * 24 * 3600


def install(app: FastAPI) -> None:
    # /runs/new and /runs/compare before /runs/{run_id}; /studies/new before /studies/{id}.
    pages = (account, new_run, runs, playground, run_detail, datasets, formats, models, teachers)
    for module in (*pages, studies, webhooks):
        app.include_router(module.router)

    @app.get(PLOTLY_URL, include_in_schema=False)
    def plotly_js() -> FileResponse:
        """Versioned address, so browsers may keep it for a year."""
        headers = {"Cache-Control": f"public, max-age={YEAR}, immutable"}
        return FileResponse(PLOTLY_JS, media_type="text/javascript", headers=headers)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    api_errors = app.exception_handlers[StudioError]

    async def studio_error(request: Request, exc: Exception) -> Response:
        """API paths keep their JSON errors; pages get an error page."""
        if request.url.path.startswith("/api/"):
            answer = api_errors(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        assert isinstance(exc, StudioError)
        return render(request, "error.html", None, status_code=exc.status, error=exc)

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(f"/login?next={exc.next_url}", status_code=303)

    app.add_exception_handler(StudioError, studio_error)
    app.add_exception_handler(LoginRequired, login_required)
