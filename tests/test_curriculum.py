"""MIND's selection on a task whose right curriculum is known (issue 11, item 4).

`tests/curriculum_task.py` builds the task and a tiny student that has read the easy
sentence and both word pools. The recommended preset (`adaptive`) must admit the late
perspective once it is learnable and keep the unlearnable one out; the `paper` preset must
behave as measured on the real student: the easiest style wins at once and stays alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mind.commands.train import train_run
from mind.config import parse_config
from mind.reporting import NullReporter
from tests.curriculum_task import PERSPECTIVES, build_student, write_task

STEPS = 30
EASY, LATE, NOISE = PERSPECTIVES


class Recorder(NullReporter):
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.warnings: list[str] = []

    def log_step(self, record: dict[str, Any]) -> None:
        self.rows.append(json.loads(json.dumps(record)))

    def event(self, kind: str, message: str, **data: Any) -> None:
        if kind == "warning":
            self.warnings.append(message)


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    folder = tmp_path_factory.mktemp("curriculum")
    questions, rationales = write_task(folder, 24)
    return build_student(folder / "student"), questions, rationales


def train(task: tuple[str, Path, Path], tmp: Path, preset: str) -> Recorder:
    student, questions, rationales = task
    config = parse_config(
        {
            "student": student,
            "method": "mind",
            "perspectives": PERSPECTIVES,
            "data": {
                "questions": str(questions),
                "rationales": str(rationales),
                "downsample_easy": False,
                "min_perspectives": 3,
            },
            "train": {
                "max_steps": STEPS,
                "questions_per_batch": 4,
                "max_seq_len": 96,
                "lr": 1e-2,
                "finetune": "full",
                "lr_schedule": "constant",
                "probe_questions": 4,
                "probe_every": 3,
                "save_every": STEPS,
            },
            "mind": {"preset": preset, "metanet_dim": 32, "collapse_warning_steps": 8},
            "seed": 0,
        }
    )
    recorder = Recorder()
    train_run(config, tmp, recorder)
    return recorder


def frequency(rows: list[dict[str, Any]], perspective: str) -> float:
    return sum(r["perspectives"][perspective]["selected"] for r in rows) / len(rows)


def halves(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    joint = [r for r in rows if r["phase"] == "joint"]
    return joint[: len(joint) // 2], joint[len(joint) // 2 :]


def probe(rows: list[dict[str, Any]], perspective: str) -> tuple[float, float]:
    """Probe CE of a perspective at the first and the last step it was measured."""
    probed = [r["probe_ce"][perspective] for r in rows if r["probe_ce"]]
    return probed[0], probed[-1]
