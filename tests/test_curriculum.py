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

from mind.config import parse_config
from mind.reporter import NullReporter
from mind.training_run import train_run
from tests.curriculum_task import PERSPECTIVES, build_student, write_task

STEPS = 30
EASY, LATE, NOISE = PERSPECTIVES


class Recorder(NullReporter):
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.warnings: list[str] = []

    def log_step(self, record: dict[str, Any]) -> None:
        row = json.loads(json.dumps(record))
        self.rows.append(row)

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
    probed = [r["probe_ce"][perspective] for r in rows if r.get("probe_ce")]
    return probed[0], probed[-1]


@pytest.fixture(scope="module")
def runs(task, tmp_path_factory) -> dict[str, Recorder]:
    return {p: train(task, tmp_path_factory.mktemp(p), p) for p in ("paper", "adaptive")}


class TestPaperPreset:
    def test_easiest_style_wins_at_once_and_stays_alone(self, runs):
        first, second = halves(runs["paper"].rows)
        for part in (first, second):
            assert frequency(part, EASY) == 1.0
            assert frequency(part, LATE) <= 0.05 and frequency(part, NOISE) <= 0.05
            assert sum(r["selected_size"] for r in part) / len(part) <= 1.05
            assert sum(r["cons_loss"] for r in part) / len(part) < 1e-3, "no pair to compare"


class TestAdaptivePreset:
    def test_late_perspective_admitted_noise_kept_out(self, runs):
        first, second = halves(runs["adaptive"].rows)
        assert frequency(second, LATE) >= 0.9
        assert frequency(second, NOISE) <= 0.5 and frequency(second[-5:], NOISE) == 0.0
        assert frequency(first, NOISE) > frequency(second, NOISE), "noise leaves once learned"
        assert all(r["selected_size"] >= 2 for r in first + second)
        assert not runs["adaptive"].warnings

    def test_the_late_perspective_is_learned(self, runs):
        late_start, late_end = probe(runs["adaptive"].rows, LATE)
        _, paper_end = probe(runs["paper"].rows, LATE)
        assert late_end < late_start - 2.0
        assert late_end < paper_end - 2.0
