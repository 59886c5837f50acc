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
    UnsupportedFormat,
    UploadTooLarge,
)
from app.datasets.models import Dataset, RunDataset
from app.errors import Forbidden
from app.settings import Settings
from app.users.models import User

CHUNK = 1 << 20


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


def _answer_type(records: list) -> str:
    from mind.answers import detect_answer_type

    return detect_answer_type(records)


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
    fmt = formats.source_format(filename)
    if fmt is None:
        raise UnsupportedFormat(filename)
    root = settings.storage / "datasets"
    (settings.storage / "tmp").mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=settings.storage / "tmp"))
    try:
        raw, jsonl = scratch / f"upload.{fmt}", scratch / "data.jsonl"
        _receive(stream, raw, settings.max_upload_bytes)
        try:
            formats.to_jsonl(raw, fmt, jsonl)
        except ValueError as exc:
            raise InvalidDataset(
                {
                    "ok": False,
                    "rows": 0,
                    "errors": [{"line": 0, "field": None, "message": str(exc)}],
                }
            ) from None
        records, report = formats.validate(jsonl, kind)
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
            name=name or Path(filename).stem,
            kind=kind,
            source_format=fmt,
            filename=filename,
            size_bytes=jsonl.stat().st_size,
            row_count=report["rows"],
            content_hash=content_hash,
            answer_type=_answer_type(records) if kind == "questions" else None,
            report=report,
        )
        dataset.path = f"datasets/{content_hash}.jsonl"
        root.mkdir(parents=True, exist_ok=True)
        jsonl.replace(settings.storage / dataset.path)
        session.add(dataset)
        session.flush()
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


def usage_counts(session: Session, dataset_ids: list[str]) -> dict[str, int]:
    query = (
        select(RunDataset.dataset_id, func.count(func.distinct(RunDataset.run_id)))
        .where(RunDataset.dataset_id.in_(dataset_ids))
        .group_by(RunDataset.dataset_id)
    )
    return {dataset_id: n for dataset_id, n in session.execute(query)}
