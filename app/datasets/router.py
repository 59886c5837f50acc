from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from app.datasets import formats, service
from app.datasets.schemas import DatasetDetail, DatasetOut, DatasetPage, DatasetPreview, Kind
from app.db import MAX_BIGINT
from app.deps import CurrentUser, SessionDep, SettingsDep
from app.errors import responses

router = APIRouter(
    prefix="/datasets", tags=["datasets"], responses=responses(403, 404, 409, 413, 507)
)
MAPPING_HELP = (
    'JSON: {"shape": "columns"|"alpaca"|"chat", "columns": {"question": "COLUMN", ...}, '
    '"perspective": "ID"}; default: the one remembered for this name, else guessed.'
)


@router.post(
    "",
    status_code=201,
    responses={200: {"description": "Same content exists."}},
    summary="Upload a dataset (JSONL, CSV or Parquet)",
)
def upload(
    file: Annotated[UploadFile, File()],
    kind: Annotated[Kind, Form()],
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    name: Annotated[str | None, Form(max_length=200)] = None,
    mapping: Annotated[str | None, Form(description=MAPPING_HELP)] = None,
) -> DatasetOut:
    """Known shapes (Alpaca, chat, question/answer columns) need no `mapping`."""
    dataset, created = service.upload(
        session,
        settings,
        user,
        file.file,
        file.filename or "upload",
        kind,
        name,
        service.parse_mapping(mapping),
    )
    response.status_code = 201 if created else 200
    return DatasetOut.model_validate(dataset)


@router.post("/preview", summary="Preview an upload without storing it")
def preview(
    file: Annotated[UploadFile, File()],
    kind: Annotated[Kind, Form()],
    _: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    name: Annotated[str | None, Form(max_length=200)] = None,
    mapping: Annotated[str | None, Form(description=MAPPING_HELP)] = None,
) -> DatasetPreview:
    """What the upload would store, nothing stored: columns, mapping, first rows, report."""
    return DatasetPreview.model_validate(
        service.preview(
            session,
            settings,
            file.file,
            file.filename or "upload",
            kind,
            name,
            service.parse_mapping(mapping),
        )
    )


@router.get("", summary="List datasets")
def list_datasets(
    _: CurrentUser,
    session: SessionDep,
    kind: Kind | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_BIGINT)] = 0,
) -> DatasetPage:
    rows, total = service.list_datasets(session, kind, limit, offset)
    return DatasetPage(items=[DatasetOut.model_validate(d) for d in rows], total=total)


@router.get("/{dataset_id}", summary="One dataset with its validation report")
def get_dataset(
    dataset_id: str,
    _: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    rows: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> DatasetDetail:
    dataset = service.get(session, dataset_id)
    head = formats.preview(service.file_path(settings, dataset), rows or settings.preview_rows)
    return DatasetDetail.model_validate(
        {**DatasetOut.model_validate(dataset).__dict__, "preview": head}
    )


@router.delete("/{dataset_id}", status_code=204, summary="Delete a dataset no run uses")
def delete_dataset(
    dataset_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> None:
    service.delete(session, settings, user, dataset_id)
