"""Jinja2 templates (in `templates/` at the repository root) and their display filters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import plotly
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.progress.timing import elapsed_s
from app.users.models import User

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
PLOTLY_URL = f"/static/plotly-{plotly.__version__}.min.js"


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None:
        return ""
    seconds = int(((end or datetime.now(UTC)) - start).total_seconds())
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h {rest // 60:02d}m" if hours else f"{rest // 60}m {rest % 60:02d}s"


def _duration_s(seconds: float) -> str:
    minutes = round(seconds / 60)
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _elapsed(run: Any) -> str:
    """Time the run has spent running (queueing excluded), e.g. `3m 05s`."""
    seconds = int(elapsed_s(run))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h {rest // 60:02d}m" if hours else f"{rest // 60}m {rest % 60:02d}s"


def _stage(stage: str | None) -> str:
    return (stage or "").replace("_", " ")


def _percent(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def _model_name(student: str) -> str:
    """A local model folder by its last part; bundled names and hub ids as they are."""
    return student.rstrip("/").rsplit("/", 1)[-1] if student.startswith("/") else student


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _page_url(request: Request) -> str:
    """This page's address without `page`, ready for `page=N` to be appended."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    return f"{request.url.path}?{urlencode(kept)}{'&' if kept else ''}"


templates = Jinja2Templates(directory=TEMPLATES)
templates.env.filters.update(
    when=_when, percent=_percent, size=_size, model_name=_model_name, stage=_stage
)
templates.env.globals.update(
    duration=_duration,
    duration_s=_duration_s,
    elapsed=_elapsed,
    page_url=_page_url,
    plotly_url=PLOTLY_URL,
)


def render(
    request: Request, name: str, user: User | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page; every page gets the user and the CSRF token for its forms."""
    csrf = getattr(request.state, "csrf", "")
    return templates.TemplateResponse(
        request, name, {"user": user, "csrf": csrf, **context}, status_code=status_code
    )
