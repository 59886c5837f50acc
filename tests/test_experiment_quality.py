"""experiments/quality.py end to end on a tiny student: split, equal budgets, report, resume."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from mind.readers import iter_records


def _correct(path: Path) -> list[bool]:
    return [json.loads(line)["correct"] for line in path.read_text().splitlines()]


def _ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def experiment(tiny_student, shared, tmp_path_factory):
    """One tiny experiment (zero_shot, sft, mind; one seed), shared by every test here."""
    from experiments import quality

    tmp = tmp_path_factory.mktemp("quality")
    argv = [
        "--out", str(tmp / "runs"), "--shared", str(shared), "--student", tiny_student,
        "--methods", "zero_shot", "sft", "mind", "--seeds", "0",
        "--train-questions", "2", "--eval-svamp", "2", "--eval-strategyqa", "2",
        "--eval-csqa", "2", "--max-new-tokens", "8", "--epochs", "1",
        "--questions-per-batch", "1",
        "--doc", str(tmp / "results.md"), "--notes", str(tmp / "notes.md"), "--no-progress",
    ]  # fmt: skip
    assert quality.main(argv) == 0
    return SimpleNamespace(
        quality=quality, argv=argv, out=tmp / "runs", doc=tmp / "results.md", notes=tmp / "notes.md"
    )


class TestDataSplit:
    def test_training_questions_come_from_the_mcc_kd_split_only(self, experiment, shared):
        """Training uses MCC-KD's published split; a subset is a fixed draw from it."""
        rationales = iter_records(shared / "teacher_rationales/svamp_test.jsonl")
        in_split = {r["id"] for _, r in rationales if r.get("source_split") == "mcc-kd:train"}
        train = _ids(experiment.out / "data/train.jsonl")
        assert len(train) == 2 and set(train) <= in_split
        split = json.loads((experiment.out / "data/split.json").read_text())
        assert (split["train_pool"], split["svamp_held_out"]) == (700, 300)

    def test_nothing_evaluated_is_trained_on(self, experiment):
        """Every benchmark has the requested size and shares no question with training."""
        train = set(_ids(experiment.out / "data/train.jsonl"))
        for name in ("svamp", "strategyqa", "commonsenseqa"):
            evaluated = _ids(experiment.out / f"data/{name}.jsonl")
            assert len(evaluated) == 2 and not train & set(evaluated), name


class TestBudget:
    def test_every_method_spends_the_same_tokens(self, experiment):
        """sft sees one rationale per question, so it gets more steps for the same budget."""
        plan = json.loads((experiment.out / "budget.json").read_text())["0"]
        budget, rows = plan["budget_tokens"], plan["methods"]
        assert rows["sft"]["max_steps"] > rows["mind"]["max_steps"]
        for method in ("sft", "mind"):
            row = rows[method]
            assert abs(row["max_steps"] * row["tokens_per_step"] - budget) <= row["tokens_per_step"]
            config = json.loads((experiment.out / f"{method}-s0/config.json").read_text())
            assert config["train"]["max_steps"] == row["max_steps"]


class TestReport:
    def test_every_method_has_a_row_with_valid_intervals(self, experiment):
        results = json.loads((experiment.out / "results.json").read_text())
        assert list(results["methods"]) == ["zero_shot", "sft", "mind"]
        assert not results["unfinished"]
        for summary in results["methods"].values():
            for bench in summary["benchmarks"].values():
                low, high = bench["ci"]
                assert 0.0 <= low <= bench["accuracy"] <= high <= 1.0
        text = experiment.doc.read_text()
        for row in ("| zero_shot |", "| sft |", "| mind |", "| mind-s0 |"):
            assert row in text
        assert "## What limits this result" in text

    def test_figures_are_written_and_linked(self, experiment):
        """The report's PNGs sit beside it (committed with it), one latent panel per student."""
        folder = experiment.doc.parent / "figures" / experiment.doc.stem
        text = experiment.doc.read_text()
        for name in ("accuracy", "latent", "mind_weights"):
            png = folder / f"{name}.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
            assert f"](figures/{experiment.doc.stem}/{name}.png)" in text

    def test_paired_rows_count_the_disagreements_of_the_predictions(self, experiment):
        """mind-s0 is paired with zero_shot and sft-s0 on every benchmark, from the files."""
        results = json.loads((experiment.out / "results.json").read_text())
        rows = {(r["other"], r["benchmark"]): r for r in results["paired"]}
        assert set(rows) == {
            (other, bench)
            for other in ("zero_shot", "sft-s0")
            for bench in ("svamp", "strategyqa", "commonsenseqa")
        }
        for (other, bench), row in rows.items():
            mine = _correct(experiment.out / f"mind-s0/predictions/{bench}.jsonl")
            theirs = _correct(experiment.out / f"{other}/predictions/{bench}.jsonl")
            assert row["only_mind"] == sum(a and not b for a, b in zip(mine, theirs, strict=True))
            assert row["only_other"] == sum(b and not a for a, b in zip(mine, theirs, strict=True))
            assert 0.0 <= row["p"] <= 1.0
        assert "## Paired comparison" in experiment.doc.read_text()

    def test_mind_weight_trajectory_is_reported(self, experiment):
        run = json.loads((experiment.out / "results.json").read_text())["runs"]["mind-s0"]
        assert run["trajectory"] and all(t["weights"] for t in run["trajectory"])


class TestResume:
    def test_a_second_invocation_skips_finished_runs_and_keeps_the_notes(self, experiment):
        """Finished runs are not touched again; hand-written notes survive a rerun."""
        summaries = [experiment.out / f"{m}-s0/summary.json" for m in ("sft", "mind")]
        evals = [experiment.out / f"{m}/eval.json" for m in ("zero_shot", "sft-s0", "mind-s0")]
        before = [p.stat().st_mtime_ns for p in summaries + evals]
        experiment.notes.write_text("Hand-written analysis.\n")
        assert experiment.quality.main(experiment.argv) == 0
        assert [p.stat().st_mtime_ns for p in summaries + evals] == before
        assert "Hand-written analysis." in experiment.doc.read_text()

    def test_other_questions_in_the_same_directory_are_refused(self, experiment):
        """Reusing a directory with another question set would skip runs trained on others."""
        argv = [*experiment.argv, "--train-questions", "3"]
        with pytest.raises(SystemExit, match="other questions"):
            experiment.quality.main(argv)


class TestMcNemar:
    def test_exact_p_of_a_one_sided_split(self):
        """3 disagreements all one way: p = 2 x 0.5^3 = 0.25; agreements do not count."""
        from experiments.quality_report import mcnemar

        assert mcnemar([True, True, True, False, True], [False, False, False, False, True]) == (
            3,
            0,
            pytest.approx(0.25),
        )
        assert mcnemar([True, False], [True, False]) == (0, 0, 1.0)

    def test_different_question_counts_are_refused(self):
        from experiments.quality_report import mcnemar

        with pytest.raises(ValueError, match="same questions"):
            mcnemar([True], [True, False])


class TestWilson:
    def test_known_interval(self, experiment):
        """Wilson interval of 5/10 at 95% is 0.2366-0.7634."""
        from experiments.quality_report import wilson

        assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
        assert wilson(0, 10)[0] == pytest.approx(0.0) and wilson(10, 10)[1] == pytest.approx(1.0)
