"""Uploads in the shapes people have, over the REST API: Alpaca, chat (OpenAI and
ShareGPT), question/answer CSV without ids, JSON arrays, Parquet and zipped
`save_to_disk` folders are accepted with no mapping; other columns take a mapping, shown
in a preview first and remembered per dataset; every bad record is counted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from mind.shapes import content_id
from tests.service.helpers import make_user

API = "/api/v1/datasets"
QA = [
    ("Tom has 3 apples and buys 4 more. How many apples does he have?", "7"),
    ("A book costs 12 dollars. How much do 3 books cost?", "36"),
    ("Sam had 10 cards and gave away 4. How many are left?", "6"),
]
SOLUTION = "We work it out step by step.\nThe answer is {}."


@pytest.fixture
def headers(session: Session) -> dict:
    return make_user(session)[1]


def post(client: TestClient, headers: dict, path: Path, kind: str, **form: str):
    with path.open("rb") as handle:
        return client.post(
            API, headers=headers, data={"kind": kind, **form}, files={"file": (path.name, handle)}
        )


def accepted(client: TestClient, headers: dict, path: Path, kind: str) -> dict:
    answer = post(client, headers, path, kind)
    assert answer.status_code == 201, answer.text
    dataset = answer.json()
    detail = client.get(f"{API}/{dataset['id']}?rows=10", headers=headers).json()
    return detail


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_alpaca_jsonl_is_accepted_as_questions(client, headers, tmp_path: Path) -> None:
    rows = [{"instruction": q, "input": "", "output": SOLUTION.format(a)} for q, a in QA]
    detail = accepted(client, headers, write_jsonl(tmp_path / "alpaca.jsonl", rows), "questions")
    assert detail["row_count"] == 3 and detail["report"]["mapping"]["shape"] == "alpaca"
    first = detail["preview"][0]
    assert first == {"id": content_id(QA[0][0]), "question": QA[0][0], "answer": "7"}


def test_chat_jsonl_is_accepted_as_rationales(client, headers, tmp_path: Path) -> None:
    rows = [
        {
            "messages": [
                {"role": "system", "content": "You are helpful."},
                {"role": "user", "content": q},
                {"role": "assistant", "content": SOLUTION.format(a)},
            ]
        }
        for q, a in QA
    ]
    detail = accepted(client, headers, write_jsonl(tmp_path / "chat.jsonl", rows), "rationales")
    assert detail["report"]["perspectives"] == {"other:standard_cot": 3}
    first = detail["preview"][0]
    assert first["answer"] == "7" and first["rationale"] == SOLUTION.format(7)
    assert first["id"] == content_id(QA[0][0])


def test_question_answer_csv_without_ids(client, headers, tmp_path: Path) -> None:
    path = tmp_path / "qa.csv"
    path.write_text("Question,Answer\n" + "".join(f'"{q}",{a}\n' for q, a in QA))
    detail = accepted(client, headers, path, "questions")
    assert [r["id"] for r in detail["preview"]] == [content_id(q) for q, _ in QA]
    assert [r["answer"] for r in detail["preview"]] == ["7", "36", "6"]


def test_json_array_sharegpt_parquet_and_saved_dataset(client, headers, tmp_path: Path) -> None:
    sharegpt = [
        {"conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": a}]}
        for q, a in QA
    ]
    array = tmp_path / "sharegpt.json"
    array.write_text(json.dumps(sharegpt, indent=2))
    assert accepted(client, headers, array, "questions")["row_count"] == 3

    rows = [{"problem": q, "solution": SOLUTION.format(a)} for q, a in QA]
    parquet = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet)
    detail = accepted(client, headers, parquet, "rationales")
    assert detail["preview"][1]["answer"] == "36"

    from datasets import Dataset, DatasetDict

    saved = tmp_path / "saved"
    DatasetDict(
        {"train": Dataset.from_list([{"query": q, "gold": a} for q, a in reversed(QA)])}
    ).save_to_disk(saved)
    archive = Path(shutil.make_archive(str(tmp_path / "saved"), "zip", saved))
    detail = accepted(client, headers, archive, "questions")
    assert detail["source_format"] == "zip" and detail["preview"][0]["answer"] == "6"


def test_every_bad_line_is_counted(client, headers, tmp_path: Path) -> None:
    good = [json.dumps({"question": q, "answer": a}) for q, a in QA]
    bad = ["{not json"] * 10 + [json.dumps({"question": "no answer here"})] * 20
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(good + bad) + "\n")
    answer = post(client, headers, path, "questions")
    assert answer.status_code == 422
    error = answer.json()["error"]
    report = error["details"]["report"]
    assert report["error_count"] == 30 and len(report["errors"]) == 20
    assert report["errors"][0]["line"] == 4 and "and 10 more" in error["message"]
    assert report["errors"][-1]["field"] == "answer"


def test_other_columns_take_a_mapping_previewed_then_remembered(
    client, headers, tmp_path: Path
) -> None:
    rows = [{"ask": q, "gold_value": a, "ref": f"r{i}"} for i, (q, a) in enumerate(QA)]
    path = write_jsonl(tmp_path / "odd.jsonl", rows)
    refused = post(client, headers, path, "questions")
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["report"]["error_count"] == 3

    mapping = {"columns": {"id": "ref", "question": "ask", "answer": "gold_value"}}
    with path.open("rb") as handle:
        preview = client.post(
            f"{API}/preview",
            headers=headers,
            data={"kind": "questions", "mapping": json.dumps(mapping)},
            files={"file": (path.name, handle)},
        )
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["columns"] == ["ask", "gold_value", "ref"]
    assert body["report"]["ok"] and body["rows"][0] == {
        "id": "r0",
        "question": QA[0][0],
        "answer": "7",
    }
    assert client.get(API, headers=headers).json()["total"] == 0  # nothing stored

    stored = post(client, headers, path, "questions", mapping=json.dumps(mapping), name="odd")
    assert stored.status_code == 201, stored.text
    again = write_jsonl(
        tmp_path / "odd2.jsonl", [*rows, {"ask": "1+1?", "gold_value": "2", "ref": "r9"}]
    )
    remembered = post(client, headers, again, "questions", name="odd")
    assert remembered.status_code == 201, remembered.text
    assert remembered.json()["report"]["mapping"]["columns"]["question"] == "ask"

    wrong = post(client, headers, path, "questions", mapping='{"columns": {"query": "x"}}')
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "mapping.columns"
