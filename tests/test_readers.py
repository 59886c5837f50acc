"""The readers of every format: values kept as written, errors located, limits enforced."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mind.data import check_records, read_questions
from mind.readers import DataError, Limits, iter_records, read_items

ROW = {"id": "q1", "question": "Two plus two?", "answer": "4"}


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def errors(path: Path, kind: str = "questions") -> list[tuple[int, str | None, str]]:
    return [
        (line, item.field, item.message)
        for line, _, item in check_records(path, kind)
        if isinstance(item, DataError)
    ]


class TestJsonl:
    def test_bom_is_accepted(self, tmp_path: Path) -> None:
        path = write(tmp_path / "q.jsonl", "\ufeff" + json.dumps(ROW) + "\n")
        assert read_questions(path)[0].id == "q1"

    def test_every_bad_line_is_located(self, tmp_path: Path) -> None:
        """Reading goes on after a bad line: encoding, JSON and type errors, each located."""
        content = (
            json.dumps(ROW).encode() + b"\n"
            b'{"id": "q2", "question": "Caf\xe9?", "answer": "1"}\n'
            b"[1, 2]\n"
            b'{"id": "q3", "question": ["a"], "answer": "1"}\n'
            b'{"id": "q4", "question": "?", "answer": null}\n'
            b'{"id": "q1", "question": "again", "answer": "1"}\n'
        )
        found = errors(write(tmp_path / "q.jsonl", content))
        assert found == [
            (2, None, "not UTF-8 (byte 0xe9 at column 30)"),
            (3, None, "expected a JSON object, got an array"),
            (4, "question", "expected text, got a list"),
            (5, "answer", "missing"),
            (6, "id", "duplicate id 'q1'"),
        ]

    def test_deep_nesting_is_refused(self, tmp_path: Path) -> None:
        deep = '{"id": "q", "question": "?", "answer": "1", "x": ' + "[" * 100 + "]" * 100 + "}"
        huge = "[" * 200_000 + "]" * 200_000
        path = write(tmp_path / "q.jsonl", deep + "\n" + huge + "\n")
        assert [(line, m) for line, _, m in errors(path)] == [
            (1, "nested deeper than 32 levels"),
            (2, "invalid JSON (nested too deeply)"),
        ]

    def test_values_keep_their_text(self, tmp_path: Path) -> None:
        """Numbers become their decimal text; a boolean answer becomes yes/no."""
        lines = [
            {"id": "a", "question": "?", "answer": 18},
            {"id": "b", "question": "?", "answer": True},
            {"id": "c", "question": "?", "answer": "007"},
        ]
        path = write(tmp_path / "q.jsonl", "".join(json.dumps(r) + "\n" for r in lines))
        assert [q.answer for q in read_questions(path)] == ["18", "yes", "007"]


class TestJsonArray:
    def test_array_elements_with_their_lines(self, tmp_path: Path) -> None:
        text = "[\n" + ",\n".join(json.dumps({**ROW, "id": f"q{i}"}) for i in range(3)) + "\n]\n"
        path = write(tmp_path / "q.json", "\ufeff" + text)
        assert [(line, r["id"]) for line, r in iter_records(path)] == [
            (2, "q0"),
            (3, "q1"),
            (4, "q2"),
        ]

    def test_broken_array_is_one_error(self, tmp_path: Path) -> None:
        path = write(tmp_path / "q.json", '[\n{"id": "a"},\n{"id": \n')
        with pytest.raises(DataError, match=r"q\.json:4: invalid JSON array"):
            list(read_items(path))

    def test_json_lines_in_a_json_file(self, tmp_path: Path) -> None:
        path = write(tmp_path / "q.json", json.dumps(ROW) + "\n")
        assert read_questions(path)[0].answer == "4"


class TestCsv:
    def test_cells_stay_text(self, tmp_path: Path) -> None:
        """No type inference: `true`, `007`, `NA`, `1e3` are kept exactly; empty is missing."""
        path = write(
            tmp_path / "q.csv",
            'id,question,answer,note\na,"Is it?",true,\nb,Code?,007,NA\nc,Big?,1e3,null\n',
        )
        rows = [r for _, r in iter_records(path)]
        assert [r["answer"] for r in rows] == ["true", "007", "1e3"]
        assert "note" not in rows[0] and rows[1]["note"] == "NA" and rows[2]["note"] == "null"

    def test_quoted_newlines_and_choices(self, tmp_path: Path) -> None:
        path = write(
            tmp_path / "q.csv",
            'id,question,answer,choices\nq1,"Line one\nline two?",B,"[""x"", ""y""]"\n'
            'q2,"Other?",A,"[""x"", ""y""]"\n',
        )
        assert [line for line, _ in iter_records(path)] == [2, 4]
        first = read_questions(path)[0]
        assert first.question == "Line one\nline two?" and first.choices == ("x", "y")

    def test_shape_and_encoding_errors_are_located(self, tmp_path: Path) -> None:
        path = write(tmp_path / "q.csv", "id,question,answer\na,b\nc,d,e\n")
        assert errors(path) == [(2, None, "2 fields, but the header has 3")]
        latin = write(tmp_path / "l.csv", b"id,question,answer\na,caf\xe9,1\n")
        with pytest.raises(DataError, match=r"l\.csv:2: not UTF-8"):
            list(read_items(latin))
        nul = write(tmp_path / "n.csv", b"id,question,answer\na,b\x00c,1\n")
        assert errors(nul) == [(2, "question", "contains a NUL character (a binary file?)")]

    def test_bad_choices_name_the_field(self, tmp_path: Path) -> None:
        path = write(tmp_path / "q.csv", "id,question,answer,choices\na,b,A,[oops\n")
        assert errors(path) == [(2, "choices", "must be a JSON list of strings")]


class TestParquet:
    def test_rows_keep_their_types(self, tmp_path: Path) -> None:
        path = tmp_path / "q.parquet"
        pq.write_table(pa.Table.from_pylist([{**ROW, "choices": ["a", "b"]}]), path)
        [question] = read_questions(path)
        assert question.choices == ("a", "b") and question.answer == "4"

    def test_unreadable_file_does_not_leak_the_path(self, tmp_path: Path) -> None:
        path = write(tmp_path / "q.parquet", b"PAR1 garbage")
        with pytest.raises(DataError) as caught:
            list(read_items(path))
        assert caught.value.message == "not a readable Parquet file"

    def test_repeated_values_expand_only_to_the_limit(self, tmp_path: Path) -> None:
        """A few KB of dictionary-encoded rows that decode to 40 MB stop at the limit."""
        rows = 40_000
        table = pa.table(
            {
                "id": pa.array([f"q{i}" for i in range(rows)]),
                "question": pa.array(["x" * 1000] * rows).dictionary_encode(),
                "answer": pa.array(["1"] * rows),
            }
        )
        path = tmp_path / "bomb.parquet"
        pq.write_table(table, path, compression="zstd")
        assert path.stat().st_size < 200_000
        with pytest.raises(DataError, match="bytes once decoded, more than 1000000"):
            list(read_items(path, Limits(max_decoded_bytes=1_000_000)))

    @pytest.mark.parametrize("shape", ["large_string", "chat_messages"])
    def test_bombs_in_large_and_nested_text_are_counted_without_expanding(
        self, tmp_path: Path, shape: str
    ) -> None:
        """40 row groups of 100 rows repeating one 100 KB value: 400 MB once decoded, in a
        plain large_string column or in the content of nested chat messages (Parquet
        dictionary-encodes them on disk). The reader must refuse the file with the count
        while its process stays far below 400 MB."""
        value, rows, groups = "x" * 100_000, 100, 40
        text = pa.array([value] * rows, pa.large_string())
        if shape == "chat_messages":
            message = pa.StructArray.from_arrays([text, text], names=["role", "content"])
            column = pa.ListArray.from_arrays(pa.array(range(rows + 1), pa.int32()), message)
        else:
            column = text
        expected = groups * rows * len(value) * (2 if shape == "chat_messages" else 1)
        chunk = pa.table({"question": column})
        path = tmp_path / "bomb.parquet"
        with pq.ParquetWriter(path, chunk.schema, compression="zstd") as writer:
            for _ in range(groups):
                writer.write_table(chunk)
        assert path.stat().st_size < 200_000
        # VmHWM, not ru_maxrss: on Linux a child's ru_maxrss keeps its forking parent's peak.
        probe = (
            "import re, sys\n"
            "from pathlib import Path\n"
            "from mind.readers import Limits, read_items\n"
            "try:\n"
            "    list(read_items(Path(sys.argv[1]), Limits(max_decoded_bytes=10_000_000)))\n"
            "except Exception as e:\n"
            "    print(e)\n"
            "status = Path('/proc/self/status').read_text()\n"
            "print(int(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1)) // 1024)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True
        )
        message, peak_mb = done.stdout.strip().splitlines()
        counted = int(re.search(r"expands to (\d+) bytes once decoded", message).group(1))
        assert expected <= counted < expected * 1.01  # the text, plus list offsets
        assert int(peak_mb) < 300, f"peak {peak_mb} MB"

    def test_chat_rows_over_several_row_groups_read_whole(self, tmp_path: Path) -> None:
        """Nested text is read dictionary-encoded row group by row group; the rows come
        back as plain Python values, in order."""
        path = tmp_path / "chat.parquet"
        rows = [
            {
                "messages": [
                    {"role": "user", "content": f"q{i}"},
                    {"role": "assistant", "content": "4"},
                ]
            }
            for i in range(5)
        ]
        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=2)
        assert pq.read_metadata(path).num_row_groups == 3
        assert [item for _, item in iter_records(path)] == rows

    def test_limits_read_from_metadata(self, tmp_path: Path) -> None:
        path = tmp_path / "q.parquet"
        pq.write_table(pa.Table.from_pylist([ROW] * 10), path)
        with pytest.raises(DataError, match="10 rows, more than 5"):
            list(read_items(path, Limits(max_rows=5)))
        big = tmp_path / "big.parquet"
        pq.write_table(pa.table({"question": ["y" * 100_000]}), big, compression="zstd")
        with pytest.raises(DataError, match="more than 50000"):
            list(read_items(big, Limits(max_decoded_bytes=50_000)))


def test_row_and_byte_limits_for_text_formats(tmp_path: Path) -> None:
    jsonl = write(tmp_path / "q.jsonl", "".join(json.dumps(ROW) + "\n" for _ in range(5)))
    with pytest.raises(DataError, match=r"q\.jsonl:4: more than 3 records"):
        list(read_items(jsonl, Limits(max_rows=3)))
    with pytest.raises(DataError, match="more than 100 bytes once decoded"):
        list(read_items(jsonl, Limits(max_decoded_bytes=100)))
