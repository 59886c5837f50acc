"""Dataset uploads: three formats, validation report, de-duplication, limits, delete."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.datasets.models import Dataset
from app.settings import Settings
from tests.service.helpers import make_user, svamp_files

API = "/api/v1/datasets"


def post(client: TestClient, headers: dict, name: str, content: bytes, kind: str = "questions"):
    return client.post(
        API, headers=headers, data={"kind": kind}, files={"file": (name, io.BytesIO(content))}
    )


def stored_files(settings: Settings) -> list[Path]:
    return [p for p in settings.storage.rglob("*") if p.is_file()]


@pytest.fixture
def rows(shared: Path) -> list[dict]:
    lines = (shared / "datasets/commonsenseqa/dev.jsonl").read_text().splitlines()[:5]
    return [json.loads(line) for line in lines]


class TestUpload:
    def test_jsonl_csv_and_parquet_store_the_same_content(
        self, client: TestClient, session: Session, rows: list[dict]
    ) -> None:
        """One schema in three formats: all become the same JSONL, so they de-duplicate."""
        _, headers = make_user(session)
        keep = [{k: r[k] for k in ("id", "question", "answer", "choices")} for r in rows]
        jsonl = "".join(json.dumps(r) + "\n" for r in keep).encode()
        first = post(client, headers, "q.jsonl", jsonl)
        assert first.status_code == 201, first.text
        body = first.json()
        assert body["row_count"] == 5 and body["answer_type"] == "letter"
        table = pa.Table.from_pylist(keep)
        parquet = io.BytesIO()
        pq.write_table(table, parquet)
        again = post(client, headers, "q.parquet", parquet.getvalue())
        assert again.status_code == 200 and again.json()["id"] == body["id"]
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(keep[0]))
        writer.writeheader()
        writer.writerows({**r, "choices": json.dumps(r["choices"])} for r in keep)
        from_csv = post(client, headers, "q.csv", text.getvalue().encode())
        assert from_csv.status_code == 200, from_csv.text
        assert from_csv.json()["id"] == body["id"]
        detail = client.get(f"{API}/{body['id']}", headers=headers).json()
        assert [r["id"] for r in detail["preview"]] == [r["id"] for r in keep]

    def test_rationales_report_their_perspectives(
        self, client: TestClient, session: Session, shared: Path, tmp_path: Path
    ) -> None:
        _, headers = make_user(session)
        _, rationales = svamp_files(shared, tmp_path)
        response = post(client, headers, "r.jsonl", rationales.read_bytes(), "rationales")
        assert response.status_code == 201
        assert "formal_symbolic" in response.json()["report"]["perspectives"]

    def test_bad_lines_are_reported_and_nothing_is_kept(
        self, client: TestClient, session: Session, settings: Settings
    ) -> None:
        """Every bad line with its field, 422, no row and no file left behind."""
        _, headers = make_user(session)
        content = (
            b'{"id": "a", "question": "q?", "answer": "1"}\n'
            b'{"id": "b", "question": "", "answer": "2"}\n'
            b"not json\n"
            b'{"id": "a", "question": "q?", "answer": "3"}\n'
        )
        response = post(client, headers, "bad.jsonl", content)
        assert response.status_code == 422
        error = response.json()["error"]
        errors = error["details"]["report"]["errors"]
        assert [(e["line"], e["field"]) for e in errors] == [(2, "question"), (3, None), (4, "id")]
        assert error["field"] == "question"
        assert session.scalar(select(func.count()).select_from(Dataset)) == 0
        assert stored_files(settings) == []

    @pytest.mark.parametrize(
        ("name", "content", "status"),
        [
            pytest.param("big.jsonl", b"x" * 300_000, 413, id="too-large"),
            pytest.param("data.xlsx", b"abc", 422, id="unsupported"),
            pytest.param("q.parquet", b"not parquet", 422, id="unreadable-parquet"),
            pytest.param("empty.jsonl", b"\n\n", 422, id="empty"),
        ],
    )
    def test_rejected_upload_leaves_nothing(
        self,
        client: TestClient,
        session: Session,
        settings: Settings,
        name: str,
        content: bytes,
        status: int,
    ) -> None:
        _, headers = make_user(session)
        response = post(client, headers, name, content)
        assert response.status_code == status, response.text
        assert response.json()["error"]["field"] is not None
        assert stored_files(settings) == []

    def test_bad_kind_is_422(self, client: TestClient, session: Session) -> None:
        _, headers = make_user(session)
        response = post(client, headers, "q.jsonl", b"{}", kind="answers")
        assert response.status_code == 422 and response.json()["error"]["field"] == "kind"


class TestDelete:
    def test_only_owner_or_admin_and_file_goes(
        self, client: TestClient, session: Session, settings: Settings, rows: list[dict]
    ) -> None:
        _, owner = make_user(session)
        _, other = make_user(session)
        _, admin = make_user(session, admin=True)
        content = "".join(json.dumps(r) + "\n" for r in rows).encode()
        dataset_id = post(client, owner, "q.jsonl", content).json()["id"]
        assert client.delete(f"{API}/{dataset_id}", headers=other).status_code == 403
        assert client.delete(f"{API}/{dataset_id}", headers=admin).status_code == 204
        assert client.get(f"{API}/{dataset_id}", headers=owner).status_code == 404
        assert stored_files(settings) == []
