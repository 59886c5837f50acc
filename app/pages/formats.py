"""The format guide: which files and shapes an upload takes, with downloadable examples."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.datasets.examples import EXAMPLES
from app.errors import NotFound
from app.pages.auth import PageUser
from app.pages.render import render
from mind.shapes import DEFAULT_PERSPECTIVE, SYNONYMS

router = APIRouter(prefix="/formats", include_in_schema=False)


@router.get("")
def formats_page(request: Request, user: PageUser) -> HTMLResponse:
    return render(
        request,
        "formats.html",
        user,
        examples=EXAMPLES.values(),
        synonyms=SYNONYMS,
        default_perspective=DEFAULT_PERSPECTIVE,
    )


@router.get("/{filename}")
def example_file(filename: str, _: PageUser) -> Response:
    example = EXAMPLES.get(filename)
    if example is None:
        raise NotFound(f"no example file {filename!r}", "filename")
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(example.build(), media_type=example.media_type, headers=headers)
