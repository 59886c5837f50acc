"""Datasets: the list, upload (with the validation report when a file is refused),
and one dataset's report, preview and the runs that used it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.datasets import formats
from app.datasets import service as datasets
from app.datasets.schemas import Kind
from app.db import MAX_PAGE
from app.deps import SessionDep, SettingsDep
from app.errors import StudioError
from app.pages import listing
from app.pages.auth import FormUser, PageUser, safe_next
from app.pages.render import render
from app.users.models import User

router = APIRouter(prefix="/datasets", include_in_schema=False)
PAGE_SIZE = 50
RUNS_SHOWN = 20


def _list(
    request: Request,
    user: User,
    session: Session,
    kind: str | None,
    page: int,
    status_code: int = 200,
    **extra: object,
) -> HTMLResponse:
    rows, total = datasets.list_datasets(session, kind, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    return render(
        request,
        "datasets.html",
        user,
        status_code=status_code,
        datasets=rows,
        total=total,
        kind=kind,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        owners=listing.emails(session, {d.owner_id for d in rows}),
        used=listing.usage_counts(session, [d.id for d in rows]),
        **extra,
    )


@router.get("")
def datasets_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    kind: Kind | None = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    return _list(request, user, session, kind, page)


@router.post("")
def upload(
    request: Request,
    user: FormUser,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
    kind: Annotated[Kind, Form()],
    name: Annotated[str, Form(max_length=200)] = "",
    mapping: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Success goes to the dataset (or back to `next`); a refused file shows why, line by line."""
    filename = file.filename or "upload"
    try:
        dataset, _ = datasets.upload(
            session,
            settings,
            user,
            file.file,
            filename,
            kind,
            name.strip() or None,
            datasets.parse_mapping(mapping),
        )
    except StudioError as exc:
        report = (exc.details or {}).get("report")
        return _list(
            request, user, session, None, 1, exc.status, error=exc, report=report, filename=filename
        )
    target = safe_next(next) if next else f"/datasets/{dataset.id}"
    return RedirectResponse(target, status_code=303)


@router.post("/preview")
def preview(
    user: FormUser,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
    kind: Annotated[Kind, Form()],
    name: Annotated[str, Form(max_length=200)] = "",
    mapping: Annotated[str, Form()] = "",
) -> JSONResponse:
    """The upload form's mapping step (JSON for app/static/upload.js); nothing is stored."""
    try:
        found = datasets.preview(
            session,
            settings,
            file.file,
            file.filename or "upload",
            kind,
            name.strip() or None,
            datasets.parse_mapping(mapping),
        )
    except StudioError as exc:
        error = {"code": exc.code, "message": exc.message, "field": exc.field}
        return JSONResponse({"error": error}, exc.status)
    return JSONResponse(jsonable_encoder(found))


@router.get("/{dataset_id}")
def dataset_page(
    dataset_id: str, request: Request, user: PageUser, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    dataset = datasets.get(session, dataset_id)
    used_by, used_total = listing.runs_using(session, dataset.id, RUNS_SHOWN)
    preview = formats.preview(datasets.file_path(settings, dataset), settings.preview_rows)
    return render(
        request,
        "dataset.html",
        user,
        dataset=dataset,
        owner=listing.emails(session, {dataset.owner_id}).get(dataset.owner_id, ""),
        preview=preview,
        columns=list(dict.fromkeys(k for row in preview for k in row)),
        used_by=used_by,
        used_total=used_total,
        can_delete=not used_total and (user.is_admin or user.id == dataset.owner_id),
    )


@router.post("/{dataset_id}/delete")
def delete(
    dataset_id: str, user: FormUser, session: SessionDep, settings: SettingsDep
) -> RedirectResponse:
    datasets.delete(session, settings, user, dataset_id)
    return RedirectResponse("/datasets", status_code=303)
