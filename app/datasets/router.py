from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from app.datasets import formats, service
from app.datasets.schemas import DatasetDetail, DatasetOut, DatasetPage, Kind
from app.deps import CurrentUser, SessionDep, SettingsDep
from app.pagination import ListPage

router = APIRouter(prefix="/datasets", tags=["datasets"])


@router.post("", status_code=201, responses={200: {"description": "Same content exists."}})
def upload(
    file: Annotated[UploadFile, File()],
    kind: Annotated[Kind, Form()],
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    name: Annotated[str | None, Form(max_length=200)] = None,
) -> DatasetOut:
    dataset, created = service.upload(
        session, settings, user, file.file, file.filename or "upload", kind, name
    )
    response.status_code = 201 if created else 200
    return DatasetOut.model_validate(dataset)


@router.get("")
def list_datasets(
    _: CurrentUser,
    session: SessionDep,
    page: ListPage,
    kind: Kind | None = None,
) -> DatasetPage:
    rows, total = service.list_datasets(session, kind, page.limit, page.offset)
    return DatasetPage(items=[DatasetOut.model_validate(d) for d in rows], total=total)


@router.get("/{dataset_id}")
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


@router.delete("/{dataset_id}", status_code=204)
def delete_dataset(
    dataset_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> None:
    service.delete(session, settings, user, dataset_id)
