"""Uploads against real Postgres: the shared ingestion cases, hostile files (garbage,
non-UTF-8, deep nesting, NUL names, a Parquet bomb) refused with a 4xx that names the
problem without server paths or uploaded bytes, and nothing left behind by a refusal."""

from __future__ import annotations

import io
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.datasets.models import Dataset
from app.main import create_app
from app.settings import Settings
from tests.service.helpers import make_user

API = "/api/v1/datasets"
SECRET = b"SECRET-PAYLOAD-7f3a"


@pytest.fixture
def roomy(settings: Settings) -> Settings:
    """The production upload limit (the shared fixture's is 200 KB)."""
    return settings.model_copy(update={"max_upload_bytes": Settings().max_upload_bytes})


@pytest.fixture
def studio(roomy: Settings, factory: sessionmaker) -> Iterator[TestClient]:
    with TestClient(create_app(roomy, factory)) as client:
        yield client


def post(client: TestClient, headers: dict, filename: str, content: bytes, **form: str):
    data = {"kind": "questions", **form}
    files = {"file": (filename, io.BytesIO(content))}
    return client.post(API, headers=headers, data=data, files=files)


def post_raw(client: TestClient, headers: dict, filename: bytes, content: bytes, **form: str):
    """A multipart body written by hand: httpx would percent-encode a NUL in the name."""
    boundary = b"mind-test-boundary"
    parts = [
        b'Content-Disposition: form-data; name="%s"\r\n\r\n%s' % (key.encode(), value.encode())
        for key, value in {"kind": "questions", **form}.items()
    ]
    parts.append(
        b'Content-Disposition: form-data; name="file"; filename="%s"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n%s" % (filename, content)
    )
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    body += b"--" + boundary + b"--\r\n"
    content_type = {"Content-Type": f"multipart/form-data; boundary={boundary.decode()}"}
    return client.post(API, headers=headers | content_type, content=body)


def stored_files(settings: Settings) -> list[Path]:
    return [p for p in settings.storage.rglob("*") if p.is_file()]


def dataset_rows(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Dataset)) or 0


class TestSharedCases:
    @pytest.mark.parametrize(
        ("case", "rows", "answer_type"),
        [
            ("case16_benchmark.jsonl", 3, "number"),
            ("case18_newlines_in_values.csv", 4000, None),
            ("case20_truefalse_answers.csv", 2, "yesno"),
            ("case20b_bool_answers.jsonl", 2, "yesno"),
            ("case21_json_array.json", 3, "number"),
            ("case22_huge_cell.csv", None, None),
        ],
    )
    def test_accepted(
        self,
        studio: TestClient,
        session: Session,
        shared: Path,
        case: str,
        rows: int | None,
        answer_type: str | None,
    ) -> None:
        _, headers = make_user(session)
        source = shared / "bug_cases" / case
        response = post(studio, headers, case, source.read_bytes())
        assert response.status_code == 201, response.text[:500]
        body = response.json()
        if rows is not None:
            assert body["row_count"] == rows
        if answer_type is not None:
            assert body["answer_type"] == answer_type

    def test_case20_answers_keep_their_text(self, studio: TestClient, session: Session, shared):
        _, headers = make_user(session)
        content = (shared / "bug_cases/case20_truefalse_answers.csv").read_bytes()
        created = post(studio, headers, "tf.csv", content).json()
        preview = studio.get(f"{API}/{created['id']}", headers=headers).json()["preview"]
        assert [r["answer"] for r in preview] == ["true", "false"]

    def test_case17_latin1_is_a_located_422(
        self, studio: TestClient, session: Session, roomy: Settings, shared: Path
    ) -> None:
        _, headers = make_user(session)
        content = (shared / "bug_cases/case17_latin1_questions.jsonl").read_bytes()
        response = post(studio, headers, "latin1.jsonl", content)
        assert response.status_code == 422
        [error] = response.json()["error"]["details"]["report"]["errors"]
        assert error["line"] == 1 and error["message"].startswith("not UTF-8 (byte 0xe9")
        assert stored_files(roomy) == [] and dataset_rows(session) == 0


HOSTILE = [
    pytest.param("r.jsonl", os.urandom(4096) + SECRET, id="random-jsonl"),
    pytest.param("r.csv", b"id,question,answer\n" + os.urandom(4096) + SECRET, id="random-csv"),
    pytest.param("r.parquet", b"PAR1" + os.urandom(4096) + SECRET, id="random-parquet"),
    pytest.param("r.json", b"[" + os.urandom(4096) + SECRET, id="random-json"),
    pytest.param(
        "b.jsonl",
        b'{"id": "a", "question": "\xff' + SECRET + b'", "answer": "1"}\n',
        id="non-utf8-byte",
    ),
    pytest.param("n.json", b"[" * 100_000 + b"]" * 100_000, id="deep-json-array"),
    pytest.param("n.jsonl", b'{"id": ' + b"[" * 100_000 + SECRET + b"\n", id="deep-jsonl"),
    pytest.param("w.csv", b"id,question,answer\nq1," + SECRET + b"\n", id="csv-short-row"),
]


class TestHostileUploads:
    @pytest.mark.parametrize(("filename", "content"), HOSTILE)
    def test_refused_cleanly(
        self,
        studio: TestClient,
        session: Session,
        roomy: Settings,
        filename: str,
        content: bytes,
    ) -> None:
        """A 4xx naming what is wrong; no server path, no uploaded bytes, nothing kept."""
        _, headers = make_user(session)
        response = post(studio, headers, filename, content)
        assert 400 <= response.status_code < 500, response.text[:300]
        error = response.json()["error"]
        assert error["message"] and error["field"]
        assert SECRET.decode() not in response.text
        assert str(roomy.storage) not in response.text and "/tmp" not in response.text
        assert stored_files(roomy) == [] and dataset_rows(session) == 0

    @pytest.mark.parametrize(
        ("form", "field"),
        [
            ({"filename": "evil\x00.jsonl"}, "file"),
            ({"filename": "ok.jsonl", "name": "bad\x00name"}, "name"),
            ({"filename": "x" * 600 + ".jsonl"}, "file"),
        ],
    )
    def test_bad_names_are_422_and_leave_nothing(
        self, studio: TestClient, session: Session, roomy: Settings, form: dict, field: str
    ) -> None:
        _, headers = make_user(session)
        good = b'{"id": "a", "question": "q?", "answer": "1"}\n'
        extra = {"name": form["name"]} if "name" in form else {}
        response = post_raw(studio, headers, form["filename"].encode(), good, **extra)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == field
        assert stored_files(roomy) == [] and dataset_rows(session) == 0


BOMB_GROWTH_MIB = 512  # decoding the bomb would take ~700 MB as bytes, several GB as str


def reset_peak_rss_mib() -> float:
    """Reset this process's peak RSS (Linux: clear_refs 5) and return the RSS now."""
    Path("/proc/self/clear_refs").write_text("5")
    return peak_rss_mib()


def peak_rss_mib() -> float:
    """This process's peak RSS since start or the last reset (VmHWM), in MiB."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def parquet_bomb(path: Path, rows: int = 1_000_000, width: int = 700) -> Path:
    """~90 KB on disk, ~700 MB once decoded: one long value repeated, delta-coded ids."""
    table = pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "question": pa.DictionaryArray.from_arrays(
                pa.array([0] * rows, pa.int32()), pa.array(["why? " * (width // 5)])
            ),
            "answer": pa.DictionaryArray.from_arrays(
                pa.array([0] * rows, pa.int32()), pa.array(["1"])
            ),
        }
    )
    pq.write_table(
        table,
        path,
        compression="zstd",
        use_dictionary=["question", "answer"],
        column_encoding={"id": "DELTA_BINARY_PACKED"},
    )
    return path


def test_parquet_bomb_is_refused_fast_and_small(
    studio: TestClient, session: Session, roomy: Settings, tmp_path: Path
) -> None:
    """The issue's probe: a ~90 KB Parquet file expanding to ~700 MB gets a 4xx within
    10 s, the process grows by far less than the decoded size, and nothing is left in
    storage. The peak is reset before the upload: the test process's lifetime peak holds
    whatever earlier tests in it loaded."""
    bomb = parquet_bomb(tmp_path / "bomb.parquet")
    assert bomb.stat().st_size < 200_000
    _, headers = make_user(session)
    baseline = reset_peak_rss_mib()
    began = time.monotonic()
    response = post(studio, headers, "bomb.parquet", bomb.read_bytes())
    elapsed = time.monotonic() - began
    grown_mib = peak_rss_mib() - baseline
    assert response.status_code == 422, response.text[:300]
    [error] = response.json()["error"]["details"]["report"]["errors"]
    assert "bytes once decoded" in error["message"]
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert grown_mib < BOMB_GROWTH_MIB, f"peak RSS grew {grown_mib:.0f} MiB"
    assert stored_files(roomy) == [] and dataset_rows(session) == 0


def test_bad_lines_are_all_reported_in_one_pass(studio: TestClient, session: Session) -> None:
    """20 errors are reported from a file with thousands of bad lines, quickly."""
    _, headers = make_user(session)
    content = b"".join(json.dumps({"id": str(i)}).encode() + b"\n" for i in range(50_000))
    began = time.monotonic()
    response = post(studio, headers, "many.jsonl", content)
    assert response.status_code == 422
    errors = response.json()["error"]["details"]["report"]["errors"]
    assert len(errors) == 20 and errors[0] == {"line": 1, "field": "question", "message": "missing"}
    assert time.monotonic() - began < 5
