"""`mind run` end to end on a tiny student: every stage's files, resumability, the report."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from openai_server import ChatServer, lively_copy, model_responder

from mind.cli import main

BENCH = [
    {"name": "svamp", "path": "datasets/svamp/test.jsonl", "kind": "id", "max_questions": 3},
    {
        "name": "strategyqa",
        "path": "datasets/strategyqa/dev.jsonl",
        "kind": "ood",
        "max_questions": 3,
    },
]


def write_config(tmp_path: Path, student: str, shared: Path, **train) -> Path:
    config = {
        "student": student,
        "method": "mind",
        "perspectives": ["formal_symbolic", "decomposition", "other:standard_cot"],
        "data": {
            "questions": str(shared / "datasets/svamp/test.jsonl"),
            "rationales": str(shared / "teacher_rationales/svamp_test.jsonl"),
            "max_questions": 4,
        },
        "train": {"max_steps": 3, "questions_per_batch": 2, "max_seq_len": 192, **train},
        "mind": {"metanet_dim": 32},
        "eval": {
            "benchmarks": [b | {"path": str(shared / b["path"])} for b in BENCH],
            "max_new_tokens": 8,
        },
        "analysis": {"probe_questions": 4},
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


class TestMindRun:
    def test_all_stages_write_their_outputs(self, tiny_student, shared, tmp_path):
        out = tmp_path / "run"
        assert (
            main(
                [
                    "run",
                    "--config",
                    str(write_config(tmp_path, tiny_student, shared)),
                    "--output",
                    str(out),
                    "--no-progress",
                ]
            )
            == 0
        )
        for name in [
            "config.json",
            "metrics.jsonl",
            "summary.json",
            "eval.json",
            "eval_base.json",
            "latent.json",
            "latent.html",
            "report.html",
            "base/latent.json",
        ]:
            assert (out / name).exists(), name
        result = json.loads((out / "eval.json").read_text())
        assert set(result["benchmarks"]) == {"svamp", "strategyqa"}
        assert result["benchmarks"]["svamp"]["n"] == 3
        preds = (out / "predictions/svamp.jsonl").read_text().splitlines()
        assert len(preds) == 3 and {"id", "output", "correct"} <= set(json.loads(preds[0]))
        latent = json.loads((out / "latent.json").read_text())
        assert latent["n_points"] == len(latent["points"]) > 4
        report = (out / "report.html").read_text()
        assert "Perspective weights" in report and "Latent map" in report
        assert "<script src=" not in report, "the report must not load anything from outside"
        state = json.loads((out / "pipeline.json").read_text())
        assert list(state) == ["generating", "training", "evaluating", "analyzing"]

    def test_stopped_run_resumes_where_it_stopped(self, tiny_student, shared, tmp_path):
        """A STOP file halts training at a checkpoint; running again finishes the rest."""
        out = tmp_path / "run"
        out.mkdir()
        (out / "STOP").touch()
        config = write_config(tmp_path, tiny_student, shared)
        args = ["run", "--config", str(config), "--output", str(out), "--no-progress"]
        assert main(args) == 0
        assert json.loads((out / "summary.json").read_text())["status"] == "stopped"
        assert not (out / "eval.json").exists()
        (out / "STOP").unlink()
        assert main(args) == 0
        rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
        assert [r["step"] for r in rows] == [1, 2, 3]
        assert (out / "report.html").exists()

    def test_refuses_a_directory_of_another_run(self, tiny_student, shared, tmp_path, capsys):
        out = tmp_path / "run"
        out.mkdir()
        (out / "config.json").write_text(json.dumps({"method": "sft"}))
        config = write_config(tmp_path, tiny_student, shared)
        assert main(["run", "--config", str(config), "--output", str(out), "--no-progress"]) == 2
        assert "different config" in capsys.readouterr().err

    def test_teacher_writes_the_rationales_it_trains_on(self, tiny_student, shared, tmp_path):
        """With a teacher section, the run asks an OpenAI-compatible server (a real local
        one serving a small model), then trains on what it wrote."""
        path = write_config(tmp_path, tiny_student, shared)
        raw = yaml.safe_load(path.read_text())
        del raw["data"]["rationales"]
        raw["data"] |= {"max_questions": 2, "only_correct": False, "downsample_easy": False}
        teacher = lively_copy(tiny_student, tmp_path / "teacher")
        out = tmp_path / "run"
        with ChatServer(model_responder(teacher)) as server:
            raw["teacher"] = {
                "model": "tiny-teacher",
                "base_url": server.base_url,
                "max_tokens": 12,
            }
            path.write_text(yaml.safe_dump(raw))
            assert main(["run", "--config", str(path), "--output", str(out), "--no-progress"]) == 0
        assert len(server.requests) == 2 * 3
        generated = (out / "rationales.jsonl").read_text().splitlines()
        assert len(generated) == 6
        assert json.loads((out / "summary.json").read_text())["status"] == "completed"
        assert (out / "report.html").exists()

    def test_base_student_results_are_computed_once(
        self, tiny_student, shared, tmp_path, monkeypatch
    ):
        """A second run with the same student and benchmarks takes the base student's
        evaluation and latent map from the cache instead of recomputing them."""
        from mind.student import cache_dir

        monkeypatch.setenv("MIND_CACHE", str(tmp_path / "cache"))  # no other run's entries
        config = write_config(tmp_path, tiny_student, shared)
        args = ["run", "--config", str(config), "--no-progress", "--output"]
        assert main([*args, str(tmp_path / "first")]) == 0
        entries = sorted((cache_dir() / "base-results").iterdir(), key=lambda p: p.stat().st_mtime)
        marked = [e for e in entries[-2:] if (e / "eval.json").exists()]
        assert marked, "the base evaluation was not cached"
        (marked[0] / "from-cache").write_text("yes")
        assert main([*args, str(tmp_path / "second")]) == 0
        assert (tmp_path / "second/base/from-cache").read_text() == "yes"
        first = json.loads((tmp_path / "first/eval_base.json").read_text())
        assert json.loads((tmp_path / "second/eval_base.json").read_text()) == first
