"""Progress you can trust: every stage of `mind run` reports its own progress up to 1, a
second pass over a finished run says so from the start, and the report holds no paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_pipeline import write_config

from mind.config import load_config
from mind.pipeline import run_pipeline
from mind.progress import STAGES
from mind.reporter import NullReporter


class Recording(NullReporter):
    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def progress(self, stage: str, fraction: float) -> None:
        self.calls.append((stage, fraction))

    def event(self, kind: str, message: str, **data: Any) -> None:
        self.calls.append((f"event:{kind}", 0.0))


@pytest.fixture(scope="module")
def finished(tiny_student: str, shared: Path, tmp_path_factory) -> tuple[Path, Recording, Any]:
    folder = tmp_path_factory.mktemp("progress")
    config = load_config(write_config(folder, tiny_student, shared))
    reporter = Recording()
    run_pipeline(config, folder / "run", reporter)
    return folder / "run", reporter, config


class TestStages:
    def test_every_stage_reports_its_own_progress_to_the_end(self, finished):
        _, reporter, _ = finished
        stages = [s for s, _ in reporter.calls if not s.startswith("event:")]
        assert list(dict.fromkeys(stages)) == list(STAGES)
        for stage in STAGES:
            fractions = [f for s, f in reporter.calls if s == stage]
            assert fractions[-1] == 1.0, (stage, fractions)
            assert fractions == sorted(fractions), (stage, fractions)

    def test_base_evaluation_is_not_reported_as_training(self, finished):
        """While the base student is evaluated, the stage says so (not training, 100%)."""
        _, reporter, _ = finished
        calls = reporter.calls
        started = calls.index(("event:stage", 0.0))
        after = [s for s, _ in calls[started:] if not s.startswith("event:")]
        assert after[0] == "evaluating_base"

    def test_a_second_pass_starts_from_done(self, finished):
        out, _, config = finished
        again = Recording()
        run_pipeline(config, out, again)
        progress = [c for c in again.calls if not c[0].startswith("event:")]
        assert progress[0] == ("generating", 1.0)
        assert ("generating", 0.0) not in progress


class TestNoServerPaths:
    def test_the_report_names_files_not_server_paths(self, finished, shared: Path):
        out, _, config = finished
        report = (out / "report.html").read_text()
        assert str(shared) not in report and config.student not in report
        assert "svamp_test.jsonl" in report and Path(config.student).name in report
