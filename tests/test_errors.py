"""One error base in `mind`, and the CLI turning any of them into one clean line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mind.cli import USER_ERROR, main
from mind.config import ConfigError
from mind.data import DataError
from mind.errors import InputError, MindError, NotInstalled
from mind.teacher.generate import GenerationStopped
from mind.teacher.openai_backend import TeacherError


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (ConfigError("train.lr", "must be > 0"), ValueError),
        (DataError("a.jsonl", 3, "answer", "missing"), ValueError),
        (TeacherError("HTTP 400"), RuntimeError),
        (GenerationStopped("stopped"), RuntimeError),
        (InputError("empty probe set"), ValueError),
        (NotInstalled("no such package"), FileNotFoundError),
    ],
)
def test_every_core_error_is_a_mind_error(error: Exception, builtin: type) -> None:
    assert isinstance(error, MindError) and isinstance(error, builtin)


def _wrong_only(path: Path) -> Path:
    record = {
        "id": "q1",
        "question": "What is 2+3?",
        "answer": "5",
        "perspective": "decomposition",
        "rationale": "2+3=6. The answer is 6.",
        "correct": False,
    }
    path.write_text(json.dumps(record) + "\n")
    return path


def test_an_error_from_inside_a_command_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """`mind analyze` on rationales the judge rejects: no traceback, a non-zero exit."""
    rationales = _wrong_only(tmp_path / "r.jsonl")
    args = ["--model", "unused", "--rationales", str(rationales), "--output", str(tmp_path)]
    assert main(["analyze", *args]) == USER_ERROR != 0
    err = capsys.readouterr().err
    assert err.startswith("mind analyze: error: no question in") and err.count("\n") == 1
    assert "Traceback" not in err


def test_a_bad_flag_names_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rationales = _wrong_only(tmp_path / "r.jsonl")
    args = ["--model", "unused", "--rationales", str(rationales), "--output", str(tmp_path)]
    assert main(["analyze", *args, "--perspectives", "telepathy"]) == USER_ERROR
    assert "--perspectives: unknown perspective(s) ['telepathy']" in capsys.readouterr().err
