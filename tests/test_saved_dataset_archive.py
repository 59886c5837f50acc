"""Zipped `save_to_disk` uploads: unsafe or oversized zips are refused before extraction."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from app.datasets.archive import saved_dataset_to_jsonl


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("members", "limit", "message"),
    [
        ({"../escape.json": b"{}"}, 1000, "unsafe name"),
        ({"/abs/state.json": b"{}"}, 1000, "unsafe name"),
        ({"saved/data.arrow": b"0" * 5000}, 1000, "unpacks to 5000 bytes"),
        ({"readme.txt": b"hello"}, 1000, "no datasets.save_to_disk folder"),
    ],
)
def test_refused_zips_say_why(tmp_path: Path, members: dict, limit: int, message: str) -> None:
    src = make_zip(tmp_path / "upload.zip", members)
    (tmp_path / "work").mkdir()
    with pytest.raises(ValueError, match=message):
        saved_dataset_to_jsonl(src, tmp_path / "work" / "out.jsonl", limit)
    assert not (tmp_path.parent / "escape.json").exists()


def test_not_a_zip(tmp_path: Path) -> None:
    src = tmp_path / "upload.zip"
    src.write_bytes(b"plain text")
    with pytest.raises(ValueError, match="not a readable zip"):
        saved_dataset_to_jsonl(src, tmp_path / "out.jsonl", 1000)
