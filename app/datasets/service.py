"""Dataset upload, lookup and deletion. Functions take the session and never commit."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.datasets import formats
from app.datasets.exceptions import (
    DatasetInUse,
    DatasetNotFound,
    InvalidDataset,
    InvalidName,
    UnsupportedFormat,
    UploadTooLarge,
)
from app.datasets.models import Dataset, RunDataset
from app.errors import Forbidden
from app.settings import Settings
from app.users.models import User
from mind.readers import Limits

CHUNK = 1 << 20
FILENAME_MAX = 500
NAME_MAX = 200


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _receive(stream: BinaryIO, dest: Path, limit: int) -> None:
    """Copy the upload to disk, refusing it as soon as it passes the size limit."""
    size = 0
    with dest.open("wb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise UploadTooLarge(limit)
            out.write(chunk)


def _check_names(filename: str, name: str | None) -> None:
    """Names the database can hold: printable text (no NUL), within the column sizes."""
    if len(filename) > FILENAME_MAX or not filename.isprintable():
        raise InvalidName("file", FILENAME_MAX)
    if name is not None and (len(name) > NAME_MAX or not name.isprintable()):
        raise InvalidName("name", NAME_MAX)


def _limits(settings: Settings) -> Limits:
    return Limits(settings.max_decoded_bytes, settings.max_upload_rows, settings.max_json_depth)


def upload(
    session: Session,
    settings: Settings,
    owner: User,
    stream: BinaryIO,
    filename: str,
    kind: str,
    name: str | None = None,
) -> tuple[Dataset, bool]:
    """(dataset, created). The same content uploaded again returns the existing dataset.

    Everything happens in a private scratch folder that is removed on any outcome, so a
    rejected upload leaves no file behind (and no row: nothing is added before it passes).
    """
    _check_names(filename, name)
    fmt = formats.source_format(filename)
    if fmt is None:
        raise UnsupportedFormat(filename)
    root = settings.storage / "datasets"
    (settings.storage / "tmp").mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=settings.storage / "tmp"))
    try:
        raw, jsonl = scratch / f"upload.{fmt}", scratch / "data.jsonl"
        _receive(stream, raw, settings.max_upload_bytes)
        report, answer_type = formats.ingest(raw, kind, jsonl, _limits(settings))
        raw.unlink()
        if not report["ok"]:
            raise InvalidDataset(report)
        content_hash = _sha256(jsonl)
        existing = session.scalar(
            select(Dataset).where(Dataset.kind == kind, Dataset.content_hash == content_hash)
        )
        if existing is not None:
            return existing, False
        dataset = Dataset(
            owner_id=owner.id,
            name=name or Path(filename).stem[:NAME_MAX],
            kind=kind,
            source_format=fmt,
            filename=filename,
            size_bytes=jsonl.stat().st_size,
            row_count=report["rows"],
            content_hash=content_hash,
            answer_type=answer_type,
            report=report,
        )
        dataset.path = f"datasets/{content_hash}.jsonl"
        session.add(dataset)
        session.flush()
        root.mkdir(parents=True, exist_ok=True)
        jsonl.replace(settings.storage / dataset.path)
        return dataset, True
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def get(session: Session, dataset_id: str, field: str | None = None) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise DatasetNotFound(dataset_id, field)
    return dataset


def list_datasets(
    session: Session, kind: str | None, limit: int, offset: int
) -> tuple[list[Dataset], int]:
    query = select(Dataset)
    if kind:
        query = query.where(Dataset.kind == kind)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Dataset.created_at.desc()).limit(limit).offset(offset))
    return list(rows), total


def delete(session: Session, settings: Settings, user: User, dataset_id: str) -> None:
    dataset = get(session, dataset_id)
    if dataset.owner_id != user.id and not user.is_admin:
        raise Forbidden("only the dataset's owner or an admin can delete it")
    used = session.scalar(select(func.count()).where(RunDataset.dataset_id == dataset_id)) or 0
    if used:
        raise DatasetInUse(dataset_id, used)
    session.delete(dataset)
    session.flush()
    (settings.storage / dataset.path).unlink(missing_ok=True)


def file_path(settings: Settings, dataset: Dataset) -> Path:
    return settings.storage / dataset.path
