"""Evaluation: batched greedy generation, scoring, eval.json, and the `eval`/`score` commands."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from mind.cli import main
from mind.config import BenchmarkConfig, EvalConfig, TrainConfig
from mind.data import Question
from mind.evaluate import (
    check_benchmark_name,
    evaluate,
    gain,
    load_benchmark,
)
from mind.scoring import score
from mind.student import load_for_inference, load_tokenizer

INSTRUCTION = "Think step by step. End with 'The answer is <answer>.'"
ROW_KEYS = {"id", "question", "gold", "output", "prediction", "correct", "truncated"}


class RecordingReporter:
    """A fake of the Reporter interface that keeps what it was told."""

    def __init__(self) -> None:
        self.progress_calls: list[tuple[str, float]] = []
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def progress(self, stage: str, fraction: float) -> None:
        self.progress_calls.append((stage, fraction))

    def event(self, kind: str, message: str, **data: Any) -> None:
        self.events.append((kind, message, data))


@pytest.fixture(scope="module")
def tiny(tiny_student: str) -> tuple[Any, Any]:
    model = load_for_inference(tiny_student, None, TrainConfig(device="cpu"))
    return model, load_tokenizer(tiny_student)


@pytest.fixture(scope="module")
def svamp(shared: Path) -> Path:
    return shared / "datasets" / "svamp" / "test.jsonl"


class TestScore:
    """Accuracy and rows follow the extraction rules."""

    def test_rows_and_accuracy(self) -> None:
        questions = [Question("a", "1+1?", "2"), Question("b", "2+2?", "4")]
        n, accuracy, rows = score(questions, ["The answer is 2.", "I think 5"])
        assert (n, accuracy) == (2, 0.5)
        assert [r["prediction"] for r in rows] == ["2", "5"]
        assert [r["correct"] for r in rows] == [True, False]
        assert set(rows[0]) == ROW_KEYS

    def test_a_cut_off_output_is_wrong_but_keeps_its_answer(self) -> None:
        """A list cut at "2. 1" reads as 1, the gold; cut off, it still scores as wrong."""
        questions = [Question("a", "Steps?", "1"), Question("b", "Steps?", "1")]
        outputs = ["1. 6\n2. 1", "1. 6\n2. 1"]
        n, accuracy, rows = score(questions, outputs, truncated=[True, False])
        assert [r["prediction"] for r in rows] == ["1", "1"]
        assert [r["correct"] for r in rows] == [False, True]
        assert [r["truncated"] for r in rows] == [True, False]
        assert (n, accuracy) == (2, 0.5)

    def test_length_mismatch_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="1 questions but 0 outputs"):
            score([Question("a", "?", "1")], [])


class TestBenchmarks:
    """Benchmark names become file names, so they are validated."""

    @pytest.mark.parametrize("name", ["svamp_test", "gsm8k.v2", "MATH-500"])
    def test_accepts_plain_names(self, name: str) -> None:
        assert check_benchmark_name(name) == name

    @pytest.mark.parametrize("name", ["..", "../etc", "a/b", ".hidden", "", "x y"])
    def test_refuses_path_like_names(self, name: str) -> None:
        with pytest.raises(ValueError, match="benchmark name"):
            check_benchmark_name(name)

    def test_max_questions(self, svamp: Path) -> None:
        bench = BenchmarkConfig(name="svamp", path=str(svamp), max_questions=3)
        assert [q.id for q in load_benchmark(bench)] == ["chal-1", "chal-2", "chal-3"]


class TestEvaluate:
    """End to end on the tiny student: files, shapes, means and progress."""

    def test_writes_eval_and_predictions(
        self, tiny: tuple[Any, Any], svamp: Path, shared: Path, tmp_path: Path
    ) -> None:
        model, tokenizer = tiny
        cfg = EvalConfig(
            benchmarks=[
                BenchmarkConfig(name="svamp", path=str(svamp), max_questions=4),
                BenchmarkConfig(
                    name="strategyqa",
                    path=str(shared / "datasets" / "strategyqa" / "dev.jsonl"),
                    kind="ood",
                    max_questions=2,
                ),
            ],
            max_new_tokens=6,
            batch_size=3,
        )
        reporter = RecordingReporter()
        result = evaluate(model, tokenizer, cfg, INSTRUCTION, tmp_path, reporter)

        assert json.loads((tmp_path / "eval.json").read_text()) == result
        svamp_result = result["benchmarks"]["svamp"]
        assert svamp_result["n"] == 4 and svamp_result["answer_type"] == "number"
        assert result["benchmarks"]["strategyqa"]["answer_type"] == "yesno"
        assert result["id_mean"] == svamp_result["accuracy"]
        assert result["ood_mean"] == result["benchmarks"]["strategyqa"]["accuracy"]
        rows = [json.loads(line) for line in (tmp_path / "predictions" / "svamp.jsonl").open()]
        assert [r["id"] for r in rows] == ["chal-1", "chal-2", "chal-3", "chal-4"]
        assert all(set(r) == ROW_KEYS for r in rows)
        assert [f for _, f in reporter.progress_calls] == pytest.approx([0.5, 4 / 6, 1.0])
        assert {s for s, _ in reporter.progress_calls} == {"evaluating"}
        assert [e[2]["benchmark"] for e in reporter.events] == ["svamp", "strategyqa"]

    def test_duplicate_names_are_refused(
        self, tiny: tuple[Any, Any], svamp: Path, tmp_path: Path
    ) -> None:
        bench = BenchmarkConfig(name="svamp", path=str(svamp), max_questions=1)
        with pytest.raises(ValueError, match="unique"):
            evaluate(*tiny, EvalConfig(benchmarks=[bench, bench]), INSTRUCTION, tmp_path)


class ScriptedStudent(torch.nn.Module):
    """A fake of the student the `fast` engine drives: every row writes `script`, then EOS.

    It reads no weights, so the test decides exactly what the output says and where it ends.
    """

    def __init__(self, config: Any, script: list[int], eos: int):
        super().__init__()
        self.config, self.script, self.eos = config, script, eos
        self.generation_config = SimpleNamespace(eos_token_id=eos)
        self.device = torch.device("cpu")
        self.step = 0

    def forward(self, input_ids: torch.Tensor, **_: Any) -> SimpleNamespace:
        if input_ids.shape[1] > 1:  # a prompt: a new batch starts writing
            self.step = 0
        token = self.script[self.step] if self.step < len(self.script) else self.eos
        self.step += 1
        logits = torch.zeros(input_ids.shape[0], 1, self.config.vocab_size)
        logits[:, -1, token] = 1.0
        return SimpleNamespace(logits=logits)


class TestCutOffOutputs:
    """An output cut at eval.max_new_tokens scores as wrong, and the results count it."""

    LIST = "Steps:\n1. 6\n2. 1"  # read as 1 (its last number), the gold below

    @pytest.fixture
    def one_question(self, tmp_path: Path) -> Path:
        path = tmp_path / "bench.jsonl"
        path.write_text(json.dumps({"id": "q1", "question": "Steps?", "answer": "1"}) + "\n")
        return path

    def _evaluate(self, tiny_student: str, bench: Path, out: Path, spare: int) -> dict[str, Any]:
        """Evaluate the scripted student with `spare` new tokens beyond the list's."""
        from transformers import AutoConfig

        tokenizer = load_tokenizer(tiny_student)
        script = tokenizer(self.LIST, add_special_tokens=False)["input_ids"]
        model = ScriptedStudent(
            AutoConfig.from_pretrained(tiny_student), script, tokenizer.eos_token_id
        )
        cfg = EvalConfig(
            benchmarks=[BenchmarkConfig(name="b", path=str(bench))],
            max_new_tokens=len(script) + spare,
        )
        return evaluate(model, tokenizer, cfg, INSTRUCTION, out)

    @pytest.mark.parametrize(
        ("spare", "truncated"),
        [
            pytest.param(0, True, id="cut-at-max-new-tokens"),
            pytest.param(1, False, id="ends-at-eos"),
        ],
    )
    def test_cut_off_scores_wrong(
        self, tiny_student: str, one_question: Path, tmp_path: Path, spare: int, truncated: bool
    ) -> None:
        result = self._evaluate(tiny_student, one_question, tmp_path, spare)
        [row] = [json.loads(line) for line in (tmp_path / "predictions" / "b.jsonl").open()]
        assert row["output"] == self.LIST and row["prediction"] == "1"
        assert row["truncated"] is truncated and row["correct"] is not truncated
        assert result["benchmarks"]["b"]["truncated"] == int(truncated)
        assert result["benchmarks"]["b"]["accuracy"] == (0.0 if truncated else 1.0)


class TestGain:
    """Gain over the zero-shot student, per benchmark and per kind."""

    def test_per_benchmark_and_means(self) -> None:
        def run(a: float, b: float, c: float) -> dict[str, Any]:
            return {
                "benchmarks": {
                    "gsm8k": {"accuracy": a, "kind": "id"},
                    "svamp": {"accuracy": b, "kind": "id"},
                    "csqa": {"accuracy": c, "kind": "ood"},
                }
            }

        result = gain(run(0.5, 0.7, 0.4), run(0.4, 0.4, 0.5))
        assert result["benchmarks"]["svamp"]["gain"] == pytest.approx(0.3)
        assert result["id_mean"] == pytest.approx(0.2)
        assert result["ood_mean"] == pytest.approx(-0.1)


class TestEvalCommand:
    """`mind eval --model ... --benchmark ...` writes the same files as the library call."""

    def test_benchmark_files(
        self, tiny_student: str, svamp: Path, shared: Path, tmp_path: Path
    ) -> None:
        code = main(
            [
                "eval",
                "--model",
                tiny_student,
                "--benchmark",
                str(svamp),
                "--ood",
                str(shared / "datasets" / "commonsenseqa" / "dev.jsonl"),
                "--output",
                str(tmp_path),
                "--max-questions",
                "2",
                "--max-new-tokens",
                "4",
                "--device",
                "cpu",
            ]
        )
        assert code == 0
        result = json.loads((tmp_path / "eval.json").read_text())
        assert result["benchmarks"]["svamp_test"]["kind"] == "id"
        assert result["benchmarks"]["commonsenseqa_dev"] == {
            **result["benchmarks"]["commonsenseqa_dev"],
            "kind": "ood",
            "answer_type": "letter",
            "n": 2,
        }
        assert (tmp_path / "predictions" / "svamp_test.jsonl").is_file()

    def test_run_config(self, tiny_student: str, svamp: Path, tmp_path: Path) -> None:
        """A run config supplies student, instruction and benchmarks; flags override it."""
        config = tmp_path / "run.yaml"
        config.write_text(
            f"student: {tiny_student}\nmethod: zero_shot\ntrain: {{device: cpu}}\n"
            f"eval:\n  max_new_tokens: 4\n  benchmarks:\n"
            f"    - {{name: svamp, path: {svamp}, max_questions: 3}}\n"
        )
        out = tmp_path / "out"
        assert (
            main(["eval", "--config", str(config), "--output", str(out), "--max-questions", "2"])
            == 0
        )
        result = json.loads((out / "eval.json").read_text())
        assert result["benchmarks"]["svamp"]["n"] == 2
        assert result["ood_mean"] is None

    def test_bad_benchmark_file(self, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
        bad = tmp_path / "bad.jsonl"
        bad.write_text('{"id": "x"}\n')
        code = main(
            [
                "eval",
                "--model",
                "unused",
                "--benchmark",
                str(bad),
                "--output",
                str(tmp_path / "out"),
            ]
        )
        assert code == 2
        assert f"{bad}:1: field 'question'" in capsys.readouterr().err


class TestScoreCommand:
    """`mind score` reuses the evaluation's extraction on saved outputs."""

    def _predictions(self, tmp_path: Path, rows: list[dict[str, str]]) -> Path:
        path = tmp_path / "predictions.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path

    def test_known_accuracy(
        self, svamp: Path, tmp_path: Path, capsys: pytest.CaptureFixture
    ) -> None:
        """chal-1..4 have golds 51, 1, 17, 22: two right, two wrong -> 0.5."""
        predictions = self._predictions(
            tmp_path,
            [
                {"id": "chal-1", "output": "76 - 25 = 51.\nThe answer is 51."},
                {"id": "chal-2", "output": "The answer is 11."},
                {"id": "chal-3", "output": "So 17 are left."},
                {"id": "chal-4", "output": "I cannot tell."},
            ],
        )
        assert main(["score", "--benchmark", str(svamp), "--predictions", str(predictions)]) == 0
        assert json.loads(capsys.readouterr().out) == {"n": 4, "accuracy": 0.5}

    def test_unknown_id(self, svamp: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
        predictions = self._predictions(
            tmp_path,
            [
                {"id": "chal-1", "output": "The answer is 51."},
                {"id": "nope", "output": "The answer is 3."},
            ],
        )
        assert main(["score", "--benchmark", str(svamp), "--predictions", str(predictions)]) == 2
        err = capsys.readouterr().err
        assert f"{predictions}:2: field 'id'" in err and "'nope'" in err
